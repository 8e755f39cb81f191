"""AWS look-ups for `--ami ami-ID|latest` (#14 item 2): ec2:DescribeImages and the SSM public parameters.

boto3 comes with the optional `[ecr]` extra; it honours AWS_ENDPOINT_URL / AWS_REGION like the AWS CLI (tests
point it at a local emulator). Errors become one-line UsageErrors; the library never prints.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from layerscope.errors import UsageError
from layerscope.windows.node import AwsLookups

__all__ = ["aws_lookups"]

_SSM_PREFIX = "/aws/service/ami-windows-latest/"


def _client(service: str) -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError(
            "an AMI ID or `--ami latest` needs boto3", hint="install the extra: pip install 'layerscope[ecr]'"
        ) from None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(service, region_name=region)


def _fail(what: str, exc: Exception) -> UsageError:
    return UsageError(f"{what}: {exc}", hint="check AWS credentials and region (AWS_REGION), and the AMI ID")


def describe_image(ami_id: str) -> tuple[str, date | None]:
    """The AMI's name and creation date (ec2:DescribeImages)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        images = _client("ec2").describe_images(ImageIds=[ami_id]).get("Images") or []
    except (BotoCoreError, ClientError) as exc:
        raise _fail(f"cannot describe {ami_id}", exc) from None
    if not images:
        raise UsageError(f"AMI {ami_id} not found", hint="check the AMI ID and the region (AWS_REGION)")
    name = str(images[0].get("Name") or "")
    created = str(images[0].get("CreationDate") or "")[:10]
    try:
        return name, date.fromisoformat(created) if created else None
    except ValueError:
        return name, None


def latest_ami(family: str) -> str:
    """The newest AMI ID of *family* from its SSM public parameter (EKS: `…/image_id`; ECS: JSON value)."""
    from botocore.exceptions import BotoCoreError, ClientError

    ssm = _client("ssm")
    eks = "EKS_Optimized" in family
    name = f"{_SSM_PREFIX}{family}/image_id" if eks else f"{_SSM_PREFIX}{family}"
    try:
        value = str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except (BotoCoreError, ClientError) as exc:
        raise _fail(f"cannot read the SSM parameter {name}", exc) from None
    if eks:
        return value.strip()
    try:
        return str(json.loads(value)["image_id"])
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"SSM parameter {name} is not the ECS JSON document", hint="check the AMI family") from None


def aws_lookups() -> AwsLookups:
    """The real look-ups (boto3 is imported on first use)."""
    return AwsLookups(describe=describe_image, latest=latest_ami)
