"""The Explore page (AppTest) and the URL it embeds: a recipe in the page's link is passed on only when valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core import explore as rc
from ui.server import MOUNT_PATH, panel_url

ROOT = Path(__file__).resolve().parents[1]


def test_panel_url_passes_only_valid_recipes() -> None:
    assert panel_url() == f"{MOUNT_PATH}/?__theme=light"
    code = rc.Recipe(checkpoint="digits", seed_a=4, t=0.5).to_url()
    assert panel_url(code) == f"{MOUNT_PATH}/?__theme=light&recipe={code}"
    for bad in ('"><script>alert(1)</script>', "abc", rc.Recipe(checkpoint="x").to_url()[:-4] + "%%"):
        assert "recipe=" not in panel_url(bad)


@pytest.mark.parametrize("code, warned", [(rc.Recipe(checkpoint="digits", t=0.5).to_url(), False),
                                          ("not-a-recipe", True)])
def test_explore_page_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, warned: bool) -> None:
    monkeypatch.setenv("GAN_STUDIO_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "studio.py"), default_timeout=60).run()
    at.query_params["recipe"] = code
    at.switch_page("pages/explore.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Explore"
    assert any("could not be read" in w.value for w in at.warning) == warned
    link = next(c.value for c in at.caption if "Open the panel on its own page" in c.value)
    assert ("recipe=" in link) != warned  # the valid recipe reaches the embedded panel
