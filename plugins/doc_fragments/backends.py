# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  backends_path:
    description:
      - Directory that holds the installed backends, one subdirectory each (LocalAI C(--backends-path)).
      - When not set, the E(LOCALAI_BACKENDS_PATH) or E(BACKENDS_PATH) environment variable of the target is used
        (LocalAI reads the same two), then V(/backends).
    type: path
    default: /backends
  system_backends_path:
    description:
      - Read-only directory of preinstalled backends. They are listed, never changed or removed.
      - When not set, the E(LOCALAI_BACKENDS_SYSTEM_PATH) or E(BACKEND_SYSTEM_PATH) environment variable of the
        target is used (LocalAI reads the same two), then V(/var/lib/local-ai/backends).
    type: path
    default: /var/lib/local-ai/backends
  capability:
    description:
      - Use this capability instead of detecting one (for example V(default), V(nvidia-cuda-12), V(amd), V(metal)).
      - When not set, the capability comes from E(LOCALAI_FORCE_META_BACKEND_CAPABILITY), the run file
        C(/run/localai/capability), then from the detected GPU, as LocalAI does.
      - "Must be one of V(default), V(nvidia), V(nvidia-cuda-12), V(nvidia-cuda-13), V(nvidia-l4t),
        V(nvidia-l4t-cuda-12), V(nvidia-l4t-cuda-13), V(amd), V(intel), V(vulkan), V(metal), V(darwin-x86),
        V(cpu), or a key of the meta backend's own C(capabilities) map; anything else (a typo such as
        V(nvidia-cuda12)) is an error and nothing is installed."
    type: str
  localai:
    description:
      - Where LocalAI runs on the target, so that the capability is the one LocalAI itself chooses there, not the
        host's (LocalAI reads its own environment, its image's C(/run/localai/capability) and its own
        C(/usr/local/cuda-*); GPUs and their memory are the host's).
      - When not set, LocalAI is taken to run on the host itself, and M(localai.gallery.backend_install) and
        M(localai.gallery.backend_remove) warn once per host and run after a change that a running LocalAI must be
        restarted to see it (it registers backends only when it starts).
    type: dict
    suboptions:
      container:
        description:
          - Name or id of LocalAI's container. Its environment is read with C(inspect), its files with C(exec), as
            the container's own user.
        type: str
      container_engine:
        description:
          - The engine's command on the target.
        type: str
        choices: [docker, podman]
        default: docker
      service:
        description:
          - The systemd unit LocalAI runs as; the environment of its running main process is read (C(Environment=)
            and C(EnvironmentFile=) applied), and the host's files.
          - Mutually exclusive with O(localai.container).
        type: str
      url:
        description:
          - LocalAI's base URL as the target reaches it (V(http://127.0.0.1:8080)). M(localai.gallery.backend_facts)
            then reports LocalAI's version and which installed backends the running LocalAI has registered.
        type: str
      api_key:
        description:
          - LocalAI's API key, sent as a bearer token in the C(Authorization) header. Never logged.
        type: str
"""

    REGISTRY = r"""
options:
  registry_mirrors:
    description:
      - Map of registry host to mirror, for example C(quay.io) to C(registry.lan:5000).
      - Image references on a mapped registry are pulled from the mirror; the repository path is kept (a mirror
        may add a path prefix, as in V(registry.lan:5000/cache)).
      - When a mirror fails (down, missing the image, a bad blob), the upstream registry is tried next, as Docker does
        with C(registry-mirrors); see O(upstream_fallback).
    type: dict
    default: {}
  upstream_fallback:
    description:
      - After every source rewritten by O(registry_mirrors) has failed, try each image on its upstream registry.
      - Set V(false) where hosts must never reach the upstream (air-gapped fleets, a cache that is the only way out);
        a mirror that fails then fails the task.
    type: bool
    default: true
  insecure_registries:
    description:
      - Registries to speak plain HTTP to. Loopback registries (127.0.0.0/8, ::1, localhost) always may.
    type: list
    elements: str
    default: []
  registry_auths:
    description:
      - Credentials per registry, in the shape of a docker C(config.json) C(auths) map; each key is a registry
        host with its port (V(quay.io), V(registry.lan:5000)), each value a dictionary with C(username) and
        C(password).
      - Each credential goes only to its own registry, and to the token service that registry's challenge names
        (over HTTPS, or on loopback); never to another registry, a mirror, the upstream fallback, a redirect target
        or an upload location.
      - Never logged.
    type: dict
    default: {}
  registry_username:
    description:
      - Username for one registry (basic auth, or for its token service). It is bound to the registry of the task's
        own O(localai.gallery.backend_install#module:uri), or for a gallery name to the registry of the entry's primary C(uri) after
        O(registry_mirrors); it is never sent to any other registry (the entry's other sources, the upstream
        fallback, mirrors). Use O(registry_auths) for credentials of several registries.
      - Credentials for registries neither option names come from the docker C(config.json) C(auths) of the
        target, if any, each for its own registry.
    type: str
  registry_password:
    description:
      - Password or token for O(registry_username). Never logged.
    type: str
  docker_config:
    description:
      - Path of a docker C(config.json) to read C(auths) from. Defaults to E(DOCKER_CONFIG) or C(~/.docker/config.json).
    type: path
  validate_certs:
    description:
      - Verify the registry's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify the registry with.
    type: path
  timeout:
    description:
      - Seconds to wait for the registry on each request.
      - Also a speed limit, like curl's C(--speed-limit 1024 --speed-time); a transfer that receives less than 1 KiB
        in this many seconds fails, naming the source, however slowly its bytes drip.
    type: int
    default: 60
  retries:
    description:
      - How many times a broken blob download is resumed (HTTP Range) before the source counts as failed.
      - Also how many times an answer of HTTP 429 or 503 is retried, waiting what its C(Retry-After) asks,
        at most 60 seconds (a longer wait is a clear failure).
    type: int
    default: 3
"""

    STORE = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for another run that holds the lock on the backends path.
    type: int
    default: 600
"""
