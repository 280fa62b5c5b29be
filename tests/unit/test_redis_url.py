"""REDIS_URL: which URLs name a Redis Cluster, and the seeds and credentials read from them."""

from __future__ import annotations

import pytest

from chat_service.adapters.redis.client import ClusterAddress, is_cluster_url, parse_cluster_url
from chat_service.config import Settings, SettingsError


@pytest.mark.parametrize(
    ("url", "cluster"),
    [
        ("redis://127.0.0.1:6379/0", False),
        ("rediss://cache.internal:6380/0", False),
        ("unix:///run/redis.sock", False),
        ("redis+cluster://10.0.0.1:7000", True),
        ("REDISS+CLUSTER://10.0.0.1:7000", True),
    ],
)
def test_only_the_cluster_schemes_name_a_cluster(url, cluster):
    assert is_cluster_url(url) is cluster


def test_several_seeds_credentials_and_tls_are_read():
    url = "rediss+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0"
    assert parse_cluster_url(url) == ClusterAddress(
        seeds=(("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)),
        username="app",
        password="p@ss",
        tls=True,
    )


def test_a_password_alone_has_no_username():
    address = parse_cluster_url("redis+cluster://:secret@h:7000/")
    assert (address.username, address.password, address.tls) == (None, "secret", False)


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+cluster://h",
        "redis+cluster://h:port",
        "redis+cluster://h:70000",
        "redis+cluster://h:7000/1",
        "redis://h:7000",
    ],
)
def test_unusable_cluster_urls_are_refused(url):
    with pytest.raises(ValueError, match="Redis Cluster"):
        parse_cluster_url(url)


def test_settings_refuse_a_cluster_url_without_a_seed_naming_the_variable():
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env({"REDIS_URL": "redis+cluster://h:7000/2"})
    assert Settings.from_env({"REDIS_URL": "redis+cluster://h:7000,h:7001"}).redis_url
