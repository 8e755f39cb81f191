"""Test support for layerscope: a real registry, an independent pusher, ground truth, fixture images.

Nothing in this package imports layerscope: it is the independent side the tests compare against.
Modules: `registry` (distribution registry processes and the token issuer), `push` (raw httpx pusher),
`truth` (ground truth from hashlib/gzip/zstandard/tarfile), `ocilayout` (OCI layout reader).
The fixture image builders live in `scripts/fixturegen.py` (importable as `scripts.fixturegen`).
"""
