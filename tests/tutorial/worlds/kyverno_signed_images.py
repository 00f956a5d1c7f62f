"""kyverno-signed-images: Kyverno's admission webhook and the registry's signatures, played on
the emulator.

The image `params.image` is signed keyless by the release workflow of `params.signerRepo`, for
the tag it carries; no other image is signed. A ClusterPolicy becomes Ready. A Deployment in a
namespace that a Ready policy's verifyImages rule matches is admitted only if some attestor's
`subjectRegExp` (or `subject`) accepts that signature — then, with `mutateDigest`, its image gets
the digest appended — and is refused (removed) otherwise. Elsewhere it is left alone.
"""

from __future__ import annotations

import re
from typing import Any

from tests.tutorial.worlds.base import Crd, World

DIGEST = "sha256:" + "4d" * 32


class KyvernoSignedImages(World):
    crds = (Crd("kyverno.io", "ClusterPolicy", "clusterpolicies", namespaced=False),
            Crd("kyverno.io", "Policy", "policies"))

    def react(self) -> None:
        self.on("ClusterPolicy", self._policy, ("ADDED",))
        self.on("Deployment", self._admit, ("ADDED",))

    def _policy(self, policy: dict[str, Any]) -> None:
        self.set_condition(policy, "Ready")

    def _subject(self, image: str) -> str | None:
        repo, _, tag = image.rpartition(":")
        if repo != self.params["image"]:
            return None
        return (f"https://github.com/{self.params['signerRepo']}/.github/workflows/release.yml"
                f"@refs/tags/{tag}")

    def _admit(self, deploy: dict[str, Any]) -> None:
        meta = deploy["metadata"]
        rules = [r for p in self.objects("kyverno.io/v1", "ClusterPolicy")
                 if any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (p.get("status") or {}).get("conditions") or [])
                 for r in (p.get("spec") or {}).get("rules") or [] if r.get("verifyImages")
                 and self._matches(r, meta["namespace"])]
        if not rules:
            return
        containers = deploy["spec"]["template"]["spec"]["containers"]
        for c in containers:
            subject = self._subject(c["image"])
            if subject is None or not all(self._trusted(r, subject) for r in rules):
                self.emu.delete("apps/v1", "Deployment", meta["namespace"], meta["name"])
                return
        if any(v.get("mutateDigest") for r in rules for v in r["verifyImages"]):
            pinned = [{**c, "image": f"{c['image']}@{DIGEST}"} for c in containers]
            self.emu.patch_object("apps/v1", "Deployment", meta["namespace"], meta["name"],
                                  {"spec": {"template": {"spec": {"containers": pinned}}}},
                                  manager="kyverno")

    @staticmethod
    def _matches(rule: dict[str, Any], namespace: str) -> bool:
        for any_of in ((rule.get("match") or {}).get("any") or []):
            resources = any_of.get("resources") or {}
            if "Pod" in (resources.get("kinds") or []) and namespace in (resources.get("namespaces") or []):
                return True
        return False

    @staticmethod
    def _trusted(rule: dict[str, Any], subject: str) -> bool:
        for verify in rule["verifyImages"]:
            for attestor in verify.get("attestors") or []:
                for entry in attestor.get("entries") or []:
                    keyless = entry.get("keyless") or {}
                    if keyless.get("issuer") != "https://token.actions.githubusercontent.com":
                        continue
                    if keyless.get("subject") == subject or (
                            keyless.get("subjectRegExp") and re.search(keyless["subjectRegExp"], subject)):
                        return True
        return False
