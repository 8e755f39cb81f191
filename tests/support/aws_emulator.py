"""A local AWS API emulator for tests: moto's server mode on 127.0.0.1, never a real AWS endpoint (#14 item 6).

`python -m tests.support.aws_emulator PORT READY_FILE` starts moto's HTTP server, registers the Windows AMIs of
`AMIS` through the EC2 API (as AWS would list them), publishes the `/aws/service/ami-windows-latest/…` public
parameters (AWS-owned: no account can write them through the API, so they are put into the emulator's SSM
store in its own process, the way moto loads its other public parameters) and writes the AMI IDs to READY_FILE.
The `aws_emulator` fixture (tests/conftest.py) runs it and points boto3 at it with AWS_ENDPOINT_URL and fake
credentials.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-east-1"
#: AMI name -> the SSM public parameter family it is the latest of (None: not the latest of any).
AMIS = {
    "Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.01.17": None,
    "Windows_Server-2019-English-Core-EKS_Optimized-1.34-2022.06.20": (
        "Windows_Server-2019-English-Core-EKS_Optimized-1.34"
    ),
    "Windows_Server-2022-English-Core-ECS_Optimized-2024.10.01": "Windows_Server-2022-English-Core-ECS_Optimized",
}


def _serve(port: int, ready: Path) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    import boto3
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.ssm.models import Parameter, ssm_backends

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
    ids = {name: ec2.register_image(Name=name)["ImageId"] for name in AMIS}
    params = ssm_backends[ACCOUNT][REGION]._parameters
    for name, family in AMIS.items():
        if family is None:
            continue
        if "EKS_Optimized" in family:
            key, value = f"/aws/service/ami-windows-latest/{family}/image_id", ids[name]
        else:
            key = f"/aws/service/ami-windows-latest/{family}"
            value = json.dumps({"image_name": name, "image_id": ids[name], "ecs_agent_version": "1.88.0"})
        params[key].append(
            Parameter(
                account_id=ACCOUNT,
                name=key,
                value=value,
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=time.time(),  # type: ignore[arg-type]
                version=1,
                data_type="text",
            )
        )
    ready.write_text(json.dumps(ids))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]))
