"""The nginx configuration ``config.cluster`` renders for N web nodes: nginx accepts it, and it holds
the choices docs/cluster.md explains (round robin, WebSocket upgrade, failover, no request log)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from config import cluster


def test_each_node_is_an_upstream_and_nothing_is_left_unfilled(tmp_path):
    text = cluster.render(8080, [8101, 8102, 8103], tmp_path)
    for port in (8101, 8102, 8103):
        assert f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" in text
    assert "listen 127.0.0.1:8080;" in text
    assert f"pid {tmp_path.resolve()}/nginx.pid;" in text
    assert "{{" not in text and "}}" not in text
    assert "ip_hash" not in text and "sticky" not in text
    assert "proxy_next_upstream error timeout;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "access_log off;" in text
    assert cluster.NODE_HEADER not in text  # only when asked for


def test_the_node_header_is_added_only_when_asked_for(tmp_path):
    text = cluster.render(8080, [8101], tmp_path, node_header=True)
    assert f"add_header {cluster.NODE_HEADER} $upstream_addr always;" in text


@pytest.mark.parametrize(("listen", "nodes"), [(8080, []), (0, [8101]), (8080, [70000])])
def test_no_nodes_or_a_bad_port_is_refused(tmp_path, listen, nodes):
    with pytest.raises(ValueError):
        cluster.render(listen, nodes, tmp_path)


def test_an_unknown_field_in_a_template_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown field"):
        cluster.render(8080, [8101], tmp_path, template="listen {{listen}}; {{typo}}")


@pytest.mark.skipif(not shutil.which("nginx", path="/usr/sbin:/usr/bin"), reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path):
    process = cluster.nginx(cluster.free_port(), [cluster.free_port(), cluster.free_port()], tmp_path)
    assert (tmp_path / "nginx.conf").exists() and (tmp_path / "temp" / "proxy").is_dir()
    check = subprocess.run([*process.command, "-t"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
