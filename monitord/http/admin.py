"""POST /api/v1/reload: apply the config file again, like SIGHUP, but with an answer.

Guarded by the same bearer token as the other write endpoints: a reload can
add or remove monitoring. A file that does not validate (or changes what only
a restart can apply) is a 400 listing every problem, and the running config
stays in force.
"""

from __future__ import annotations

from aiohttp import web

from monitord.errors import ConfigError
from monitord.http.context import CTX, authorize, iso


async def reload(request: web.Request) -> web.Response:
    refusal = authorize(request)
    if refusal is not None:
        return refusal
    reloader = request.app[CTX].reloader
    if reloader is None:
        return web.json_response({"error": "this daemon cannot reload"}, status=503)
    if request.query:
        return web.json_response(
            {"error": f"unknown parameter(s): {', '.join(sorted(request.query))}"}, status=400)
    try:
        done = await reloader.reload()
    except ConfigError as exc:
        return web.json_response({"error": "config rejected; the running config stays in force",
                                  "problems": exc.problems}, status=400)
    return web.json_response({"reloaded_at": iso(done.at), "added": list(done.added),
                              "removed": list(done.removed), "changed": list(done.changed)})


def register(app: web.Application) -> None:
    app.router.add_post("/api/v1/reload", reload)
