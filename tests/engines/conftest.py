"""A local Ray instance for the engine tests (2 CPUs: the test machine's), started once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.model_env import isolated_models  # noqa: F401  (offline model caches)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'illudex[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def s3_bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 server on 127.0.0.1 (moto's), credentials and endpoint in the
    environment as a MinIO user sets them; yields the bucket name."""
    pytest.importorskip("pyarrow.fs", reason="pyarrow not installed (pip install 'illudex[ray]')")
    server_module = pytest.importorskip("moto.server", reason="moto[server] not installed")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "illudex", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="art")
    yield "art"
    patch.undo()
    server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
