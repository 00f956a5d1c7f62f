"""Helm hooks as phases before and after a component's main apply.

lab applies rendered charts itself, the way ArgoCD does, so it maps hooks the way ArgoCD does
too: `pre-install`/`pre-upgrade` hooks run before the main apply, `post-install`/`post-upgrade`
after it, in ascending `helm.sh/hook-weight`, objects of one weight together. Since lab does not
track helm releases, install and upgrade are the same event: a hook that lists either runs on
every deploy, and one that lists both a pre and a post event runs in both phases. Test hooks are
dropped (`helm template --skip-tests` already drops them; this is the belt to those braces), and
delete and rollback hooks are not run: `lab down` deletes what the ledger recorded.

Like helm, a weight that is not an integer counts as 0, and a hook without a delete policy gets
`before-hook-creation`.
"""

from __future__ import annotations

from typing import Any

from illm_lab.rendering.render import Hook, HookPhase

HOOK = "helm.sh/hook"
WEIGHT = "helm.sh/hook-weight"
DELETE_POLICY = "helm.sh/hook-delete-policy"

BEFORE = frozenset({"pre-install", "pre-upgrade"})
AFTER = frozenset({"post-install", "post-upgrade"})
TESTS = frozenset({"test", "test-success", "test-failure"})


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    return ann if isinstance(ann, dict) else {}


def _list(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _weight(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def hook_of(obj: dict[str, Any]) -> Hook | None:
    """The hook `obj` declares, or None for an ordinary object."""
    ann = _annotations(obj)
    if HOOK not in ann:
        return None
    policies = _list(ann.get(DELETE_POLICY, "")) or ["before-hook-creation"]
    return Hook(object=obj, events=_list(ann[HOOK]), weight=_weight(ann.get(WEIGHT, 0)),
                delete_policies=policies)


def _phases(hooks: list[Hook]) -> list[HookPhase]:
    weights = sorted({h.weight for h in hooks})
    return [HookPhase(weight=w, hooks=[h for h in hooks if h.weight == w]) for w in weights]


def split(objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[HookPhase], list[HookPhase]]:
    """(main objects, phases before, phases after); helm's order kept within a phase."""
    main: list[dict[str, Any]] = []
    before: list[Hook] = []
    after: list[Hook] = []
    for obj in objects:
        hook = hook_of(obj)
        if hook is None:
            main.append(obj)
            continue
        events = set(hook.events)
        if events & TESTS:
            continue
        if events & BEFORE:
            before.append(hook)
        if events & AFTER:
            after.append(hook)
    return main, _phases(before), _phases(after)
