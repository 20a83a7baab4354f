"""The two HTTP routes that put the sign-in cookie in the browser and take it out again.

A Streamlit page cannot answer an HTTP request, so it cannot set an HttpOnly cookie. ``app.py``
serves itself through ``st.App`` (which ``streamlit run app.py`` and ``portal serve`` both
discover) with these routes mounted beside Streamlit's own:

``POST /_portal/session``      body ``{"code": ONE-TIME CODE}`` -> ``Set-Cookie: portal_session=...``
``POST /_portal/session/end``  ends the cookie's session and expires the cookie

The page posts with ``fetch`` (a small component, see ``app.py``). The one-time code is good
for 60 seconds and once (:func:`matching.sessions.redeem`); the cookie is ``HttpOnly``,
``SameSite=Strict``, ``Path=/``, without ``Max-Age`` (gone when the browser closes; the server
ends it after the idle limit anyway), ``Secure`` when the request came over HTTPS or
``PORTAL_COOKIE_SECURE=1``. A request from another origin is refused (the ``Origin`` header
must name this host), so another site cannot sign a visitor in to an account of its choosing.
"""
from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from matching import db as storage
from matching import sessions

SIGNED_OUT_COOKIE = "portal_signed_out"
PREFIX = "/_portal/session"


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site") not in (None, "same-origin"):
        return False
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or os.environ.get("PORTAL_COOKIE_SECURE", "") == "1"


def _cookie(response: JSONResponse, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=_secure(request), path="/")


def _expire(response: JSONResponse, request: Request, name: str) -> None:
    response.delete_cookie(name, httponly=True, samesite="strict", secure=_secure(request), path="/")


def _redeem(request: Request, code: str) -> JSONResponse:
    database = storage.connect()
    try:
        value = sessions.redeem(database, str(code))
    finally:
        database.close()
    if value is None:
        return JSONResponse({"ok": False}, status_code=400)
    response = JSONResponse({"ok": True})
    _cookie(response, request, sessions.COOKIE_NAME, value)
    _expire(response, request, SIGNED_OUT_COOKIE)
    return response


def end(request: Request) -> JSONResponse:
    """End the session the cookie names (sign-out already did; this is for a cookie left over)
    and replace the cookie with a marker the sign-in page reads to say "You are signed out"."""
    if not _same_origin(request):
        return JSONResponse({"ok": False}, status_code=403)
    cookie = request.cookies.get(sessions.COOKIE_NAME)
    if cookie:
        database = storage.connect()
        try:
            sessions.revoke(database, sessions.session_id_for_cookie(database, cookie))
        finally:
            database.close()
    response = JSONResponse({"ok": True})
    _expire(response, request, sessions.COOKIE_NAME)
    _cookie(response, request, SIGNED_OUT_COOKIE, "1")
    return response


async def _start(request: Request) -> JSONResponse:
    """Redeem the one-time code of a sign-in for the session cookie."""
    if not _same_origin(request):
        return JSONResponse({"ok": False}, status_code=403)
    body = await request.body()
    try:
        code = json.loads(body or b"{}").get("code")
    except (ValueError, AttributeError):
        code = None
    if not isinstance(code, str):
        return JSONResponse({"ok": False}, status_code=400)
    return await run_in_threadpool(_redeem, request, code)


async def _end(request: Request) -> JSONResponse:
    return await run_in_threadpool(end, request)


def routes() -> list[Route]:
    return [Route(PREFIX, _start, methods=["POST"]), Route(PREFIX + "/end", _end, methods=["POST"])]
