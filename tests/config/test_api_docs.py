"""API documentation is served from the package: no CDN, works offline."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.parametrize("url", ["/api/v1/docs", "/_allauth/openapi.html"])
def test_docs_pages_load_only_local_assets(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "external asset"
    for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html):
        assert Client().get(asset).status_code == 200, asset


def test_openapi_documents(db: None) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/me" in spec["paths"]
    assert Client().get("/_allauth/openapi.json").status_code == 200
