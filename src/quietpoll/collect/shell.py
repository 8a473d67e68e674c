# ruff: noqa: E501  (the HTML template is kept one element per line)
"""The browser form's neutral shell, enrolment and disguise (routes added by
:func:`quietpoll.collect.web.add_form_routes`).

Forms are reached by a route id, never by their form id (which may name the study's subject, e.g. the
template's ``foreign_media``, and would stay in the phone's History, Sessions and storage):
``ROUTE = form_route(form_id, store.route_key())``, an HMAC under a secret kept in the store, so the path
says nothing and a phone holder who guesses form ids cannot test a guess. ``tokens add`` prints the
same path. Below, ``/f/{form_id}`` stands for ``/f/ROUTE``.

``GET /f/{form_id}``          the shell: a neutral title, name and icon (the study's disguise), the PIN
                              field (``input[name=pin]`` + ``button[type=submit]``), the enrolment state,
                              the quick-wipe control (``data-action="wipe"``) and the page's settings in
                              ``data-`` attributes: the study public key and the bundle digest that an
                              enrolled browser compares with what it pinned. No questionnaire, no
                              question text: anyone may load it.
``POST /f/{form_id}/enrol``   ``{"code": CODE}``: exchanges a one-time enrolment code (see
                              :mod:`quietpoll.collect.enrolment`) for ``{"token"}``; an unknown, used or
                              expired code, or one whose token was revoked since, is 401. With
                              ``Authorization: Bearer TOKEN`` and no body: ``{"enrolled": true}`` when the
                              token is valid (the page checks its token this way).
``GET /f/{form_id}/questionnaire``  ``Authorization: Bearer TOKEN``: ``{"version", "html"}``, the
                              questionnaire (header and form) for an enrolled browser, which keeps it
                              for offline use only encrypted under its PIN key.
``GET /s``                     the supervisor's view: a token field; ``/static/supervisor.js`` fetches
                              ``GET /api/v1/stats`` with it (counts per interviewer alias and day, from
                              the store's metadata; only a supervisor token opens it).
``GET /manifest.webmanifest``, ``GET /icon``  the disguise's app name and icon.
``GET /static/...``, ``GET /sw.js``  the bundle and the service worker (scope ``/``).

Every response keeps the app's headers (strict CSP, ``no-store``, no referrer); no header, title,
manifest or error body names the product.

The disguise is the study setting ``[collect.disguise]`` (all optional)::

    [collect.disguise]
    title = "Notes"          # the page title (History, tabs, task switcher)
    name  = "Notes"          # the app name (manifest: home screen, app switcher)
    icon  = "notes.png"      # a PNG or SVG file in the study folder, at most 256 KB

Without it the shell is neutral anyway: title and name "Notes" and a plain grey icon; the form's
own title is shown only inside the unlocked page, never in the page title.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from quietpoll.errors import CollectError

__all__ = ["Disguise", "load_disguise", "render_shell", "shell_routes", "DEFAULT_ICON"]

#: A plain grey rounded square: no letter, no symbol.
DEFAULT_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    b'<rect x="4" y="4" width="56" height="56" rx="12" fill="#8a8f98"/></svg>'
)
MAX_ICON = 256 * 1024
_TEXT_MAX = 60


@dataclass(frozen=True)
class Disguise:
    title: str = "Notes"
    name: str = "Notes"
    icon: bytes = DEFAULT_ICON
    icon_type: str = "image/svg+xml"


def _text(section: Mapping, key: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > _TEXT_MAX or not value.isprintable():
        raise CollectError(f"[collect.disguise] {key} must be printable text of 1 to {_TEXT_MAX} characters")
    return value.strip()


def load_disguise(section: Mapping | None, folder: Path) -> Disguise:
    """The ``[collect.disguise]`` section of a study (``folder``: where a relative icon path starts)."""
    if not section:
        return Disguise()
    if not isinstance(section, Mapping):
        raise CollectError("[collect.disguise] must be a table with title, name and icon")
    unknown = sorted(set(section) - {"title", "name", "icon"})
    if unknown:
        raise CollectError(f"[collect.disguise] has unknown key(s): {', '.join(unknown)} (title, name, icon)")
    title = _text(section, "title", Disguise.title)
    name = _text(section, "name", Disguise.name)
    icon, icon_type = DEFAULT_ICON, Disguise.icon_type
    if "icon" in section:
        if not isinstance(section["icon"], str):
            raise CollectError("[collect.disguise] icon must be the path of a .png or .svg file")
        path = Path(folder) / section["icon"]
        types = {".png": "image/png", ".svg": "image/svg+xml"}
        if path.suffix.lower() not in types:
            raise CollectError(f"[collect.disguise] icon {section['icon']!r} must be a .png or .svg file")
        if not path.is_file():
            raise CollectError(f"[collect.disguise] icon {section['icon']!r}: file not found in {folder}")
        icon, icon_type = path.read_bytes(), types[path.suffix.lower()]
        if len(icon) > MAX_ICON:
            raise CollectError(f"[collect.disguise] icon {section['icon']!r} is larger than {MAX_ICON // 1024} KB")
    return Disguise(title, name, icon, icon_type)


_SHELL = """<!doctype html>
<html lang="{{ code or 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ disguise.title }}</title>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icon">
<link rel="stylesheet" href="/static/form.css">
<script src="/static/form.js" defer></script>
</head>
<body>
<main id="quietpoll" data-form-id="{{ form_id }}" data-public-key="{{ public_key }}" data-bundle="{{ bundle }}" data-code="{{ code or 'en' }}"
      data-api="/api/v1/submissions" data-enrol="/f/{{ form_id }}/enrol" data-questionnaire="/f/{{ form_id }}/questionnaire" data-sw="/sw.js?v={{ sw_version }}">
<p id="qp-enrol" role="alert" hidden></p>
<p id="qp-device" role="status"></p>
<form id="qp-pin" autocomplete="off" novalidate hidden>
<label for="qp-pin-input" id="qp-pin-label">PIN</label>
<input id="qp-pin-input" name="pin" type="password" autocomplete="off" autocapitalize="off" spellcheck="false" minlength="8" maxlength="128">
<button type="submit">OK</button>
<p class="err" id="qp-pin-error" role="alert" hidden></p>
</form>
<div id="qp-body">{{ questionnaire }}</div>
<p id="qp-status" role="status" aria-live="polite"></p>
<div class="tools">
<label class="wipe-outbox"><input type="checkbox" data-wipe-outbox> <span id="qp-wipe-outbox-label">also unsent interviews</span></label>
<button type="button" data-action="wipe">Clear</button>
</div>
</main>
</body>
</html>
"""


def render_shell(
    form_id: str,
    public_key: str,
    bundle: str,
    sw_version: str,
    disguise: Disguise | None,
    code: str,
    questionnaire: str | None = None,
) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_SHELL).render(
        form_id=form_id,
        public_key=public_key,
        bundle=bundle,
        sw_version=sw_version,
        disguise=disguise or Disguise(),
        code=code,
        questionnaire=Markup(questionnaire or ""),
    )


def form_route(form_id: str, key: bytes) -> str:
    """The route id of ``form_id`` under the store's route key: 20 hex digits of an HMAC-SHA-256."""
    import hashlib
    import hmac

    return hmac.new(key, b"quietpoll form route\x00" + form_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def form_path(store, form_id: str) -> str:
    """``/f/ROUTE``: where the browser form of ``form_id`` is served by a server on ``store``."""
    return f"/f/{form_route(form_id, store.route_key())}"


def form_routes(form_ids, store) -> dict[str, str]:
    """route id -> form id for ``form_ids`` (without a store, e.g. a preview, the form id itself)."""
    key = store.route_key() if store is not None else None
    return {(form_route(f, key) if key is not None else f): f for f in form_ids}


_SUPERVISOR = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ disguise.title }}</title>
<link rel="icon" href="/icon">
<link rel="stylesheet" href="/static/form.css">
<script src="/static/supervisor.js" defer></script>
</head>
<body>
<main id="qp-supervisor">
<form id="qp-sup" autocomplete="off" novalidate>
<label><span>Supervisor token</span> <input name="token" type="password" autocomplete="off" autocapitalize="off" spellcheck="false" maxlength="256"></label>
<button type="submit">Show</button>
</form>
<p id="qp-sup-status" role="status" aria-live="polite"></p>
<div class="scroll"><table id="qp-stats"></table></div>
</main>
</body>
</html>
"""


def render_supervisor(disguise: Disguise | None) -> str:
    """The supervisor's page ``/s``: a token field and a table filled by ``/static/supervisor.js`` from
    ``GET /api/v1/stats`` (the token stays in the page's memory)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_SUPERVISOR).render(disguise=disguise or Disguise())


def shell_routes(
    fragments: Mapping[str, str],
    codes: Mapping[str, str],
    public_key: str,
    bundle: str,
    version: str,
    store,
    disguise: Disguise | None,
    static_dir: Path,
    routes_by_id: Mapping[str, str] | None = None,
) -> list:
    """The routes of the module docstring for the questionnaires ``fragments`` (form id -> HTML);
    ``routes_by_id``: route id -> form id (default :func:`form_routes`)."""
    from starlette.concurrency import run_in_threadpool

    from .app import TOKEN_RE, error_response

    disguise = disguise or Disguise()
    route_of = dict(routes_by_id) if routes_by_id is not None else form_routes(fragments, store)
    shells = {
        rid: render_shell(rid, public_key, bundle, version, disguise, codes.get(fid, ""))
        for rid, fid in route_of.items()
    }
    first = sorted(route_of)[0] if route_of else ""
    manifest = json.dumps(
        {
            "name": disguise.name,
            "short_name": disguise.name,
            "start_url": f"/f/{first}",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "icons": [{"src": "/icon", "sizes": "any", "type": disguise.icon_type}],
        }
    )

    def refused(message: str) -> Response:
        return error_response(401, message, {"WWW-Authenticate": "Bearer"})

    async def bearer_alias(request: Request) -> str | None:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if store is None or scheme.lower() != "bearer" or not TOKEN_RE.fullmatch(token):
            return None
        return await run_in_threadpool(store.token_alias, token)

    def known(request: Request) -> str:
        """The form id of the request's route id (404 for anything else, a form id included)."""
        form_id = route_of.get(request.path_params["form_id"])
        if form_id is None:
            raise HTTPException(404)
        return form_id

    async def shell_page(request: Request) -> Response:
        known(request)
        return HTMLResponse(shells[request.path_params["form_id"]])

    async def enrol(request: Request) -> Response:
        known(request)
        if request.headers.get("authorization"):
            if await bearer_alias(request) is None:
                return refused("this device's token is unknown or revoked: ask your coordinator for a new link")
            return JSONResponse({"enrolled": True})
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > 1024:
                return error_response(413, "the body is larger than 1024 bytes")
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return error_response(400, 'the body must be {"code": CODE}')
        if not isinstance(doc, dict) or set(doc) != {"code"} or not isinstance(doc["code"], str):
            return error_response(400, 'the body must be {"code": CODE}')
        token = await run_in_threadpool(store.redeem_enrol_code, doc["code"])
        if token is None:
            return refused(
                "this enrolment link is unknown, already used or expired: ask your coordinator for a new link"
            )
        return JSONResponse({"token": token})

    async def questionnaire(request: Request) -> Response:
        form_id = known(request)
        if await bearer_alias(request) is None:
            return refused("a valid token is required")
        return JSONResponse({"version": version, "html": fragments[form_id]})

    supervisor_page = render_supervisor(disguise)

    async def supervisor(request: Request) -> Response:
        return HTMLResponse(supervisor_page)

    async def manifest_file(request: Request) -> Response:
        return Response(manifest, media_type="application/manifest+json")

    async def icon(request: Request) -> Response:
        return Response(disguise.icon, media_type=disguise.icon_type)

    async def service_worker(request: Request) -> Response:
        return FileResponse(static_dir / "sw.js", media_type="text/javascript")

    routes = [
        Route("/f/{form_id}", shell_page, methods=["GET"]),
        Route("/manifest.webmanifest", manifest_file, methods=["GET"]),
        Route("/icon", icon, methods=["GET"]),
        Route("/sw.js", service_worker, methods=["GET"]),
        Mount("/static", StaticFiles(directory=static_dir), name="static"),
    ]
    if store is not None:
        routes[1:1] = [
            Route("/f/{form_id}/enrol", enrol, methods=["POST"]),
            Route("/f/{form_id}/questionnaire", questionnaire, methods=["GET"]),
            Route("/s", supervisor, methods=["GET"]),
        ]
    return routes
