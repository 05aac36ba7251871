"""The main job (`resonate demo`, run by scripts/demo) succeeds on a fresh 4-node network."""
import pytest

from bigchaindb_resonate import demo

from .conftest import local_testnet

pytestmark = pytest.mark.integration


def test_the_main_job_runs_end_to_end(tmp_path_factory, capsys):
    with local_testnet(tmp_path_factory.mktemp("demo"), first_port=28000) as network:
        assert demo.run(network.directory) == 0
    said = capsys.readouterr().out
    assert "COPYRIGHT_NOT_REGISTRANT" in said
    assert "listener balance: 478 tokens" in said
    assert "audit against 4 nodes: matches" in said
    assert said.rstrip().endswith("Done.")
