"""Worlds for the catalog's tutorials: what their charts and controllers do, played on the
emulator (see base.py). One module per tutorial; `WORLDS` maps the experiment name to its World."""

from __future__ import annotations

from tests.tutorial.worlds.argocd_gitops import ArgocdGitops
from tests.tutorial.worlds.base import World
from tests.tutorial.worlds.keda_autoscaling import KedaAutoscaling
from tests.tutorial.worlds.kyverno_signed_images import KyvernoSignedImages
from tests.tutorial.worlds.linkerd_authorization import LinkerdAuthorization
from tests.tutorial.worlds.loki_tutorial import LokiTutorial
from tests.tutorial.worlds.nats_messaging import NatsMessaging
from tests.tutorial.worlds.network_policy import NetworkPolicyWorld
from tests.tutorial.worlds.otel_tutorial import OtelTutorial
from tests.tutorial.worlds.postgres_backup import PostgresBackup
from tests.tutorial.worlds.prometheus_tutorial import PrometheusTutorial
from tests.tutorial.worlds.traffic_split import TrafficSplit

WORLDS: dict[str, type[World]] = {
    "argocd-gitops": ArgocdGitops,
    "keda-autoscaling": KedaAutoscaling,
    "kyverno-signed-images": KyvernoSignedImages,
    "linkerd-authorization": LinkerdAuthorization,
    "loki-tutorial": LokiTutorial,
    "nats-messaging": NatsMessaging,
    "network-policy": NetworkPolicyWorld,
    "otel-tutorial": OtelTutorial,
    "postgres-backup": PostgresBackup,
    "prometheus-tutorial": PrometheusTutorial,
    "traffic-split": TrafficSplit,
}
