# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each module ships only the module_utils it uses: the AnsiballZ payload Ansible builds for it, listed.

Ansible packs every module_utils file a module imports, directly or not (module_common.ModuleDepFinder), into
the payload it sends to each host for each task; what a module does not need costs every host every run.
"""

from __future__ import annotations

import base64
import glob
import io
import os
import re
import subprocess
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PREFIX = "ansible_collections/localai/gallery/plugins/module_utils/"
# What installing needs and nothing else does.
ENGINE = {"install_plan.py", "sources.py", "layers.py", "layer_copies.py", "layer_streams.py", "tar_stream.py",
          "inflaters.py", "meta_resolution.py", "uris.py"}


def payload(tmp_path, module: str, args: str) -> dict[str, int]:
    """{module_utils path: bytes} of the AnsiballZ payload of one ad hoc run of `module` on localhost."""
    remote_tmp = tmp_path / "remote"
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(remote_tmp),
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    subprocess.run(["ansible", "localhost", "-c", "local", "-m", "localai.gallery." + module, "-a", args],
                   env=env, check=True, capture_output=True, text=True, timeout=120)
    wrapper = glob.glob(str(remote_tmp / "**" / ("AnsiballZ_%s.py" % module)), recursive=True)
    assert len(wrapper) == 1, wrapper
    with open(wrapper[0], encoding="utf-8") as handle:
        # ansible-core 2.19+: zip_data='...'; before: ZIPDATA = """..."""
        data = re.search(r"""(?:zip_data=|ZIPDATA = )['"]+([A-Za-z0-9+/=\s]+)['"]""", handle.read()).group(1)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(data))) as archive:
        return {info.filename[len(PREFIX):]: info.file_size for info in archive.infolist()
                if info.filename.startswith(PREFIX)}


@pytest.fixture
def backends(tmp_path):
    path = tmp_path / "backends"
    path.mkdir()
    return str(path)


def test_backend_remove_ships_no_registry_or_extraction_code(tmp_path, backends):
    shipped = set(payload(tmp_path, "backend_remove", "name=x backends_path=%s capability=default" % backends))
    assert shipped == {"__init__.py", "backends_module.py", "errors.py", "results.py", "capability.py", "store.py",
                       "descriptors.py", "ownership.py", "metadata.py", "flow_remove.py", "backend_listing.py",
                       "provenance.py", "localai_writers.py", "localai_target.py", "vram.py"}, sorted(shipped)


def test_backend_facts_ships_the_registry_client_but_nothing_that_installs(tmp_path, backends):
    shipped = set(payload(tmp_path, "backend_facts", "backends_path=%s capability=default" % backends))
    assert not shipped & ENGINE - {"uris.py"}, sorted(shipped & ENGINE)
    assert "oci/client.py" in shipped and "upgrade_check.py" in shipped
    assert "oci/uploads.py" not in shipped


def test_backend_install_ships_no_registry_writes(tmp_path, backends):
    source = tmp_path / "src"
    source.mkdir()
    (source / "run.sh").write_text("#!/bin/sh\n")
    sizes = payload(tmp_path, "backend_install", "name=x uri=%s backends_path=%s capability=default" % (source, backends))
    assert ENGINE <= set(sizes) and "oci/uploads.py" not in sizes
    print("\nbackend_install payload: %d module_utils files, %d bytes uncompressed"
          % (len(sizes), sum(sizes.values())))
