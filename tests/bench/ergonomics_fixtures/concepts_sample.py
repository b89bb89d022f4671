"""Known framework concepts (framework packages: flask, werkzeug)."""

import flask
from flask import Blueprint, Flask, Response, g, request
from flask import abort as stop
from werkzeug.exceptions import HTTPException

bp = Blueprint("things", __name__)


def create_app() -> Flask:
    app = Flask(__name__)
    app.register_blueprint(bp)
    app.config["KEY"] = "value"
    return app


@bp.get("/things")
def things() -> Response:
    g.user = request.headers.get("X-User")
    if request.args.get("fail"):
        stop(400)
    return flask.jsonify([g.user])


def on_error(exc: HTTPException) -> int:
    return exc.code or 500


def same_name_other_type(exc: ValueError) -> str:
    return exc.args[0]


def status_constant(response: Response) -> int:
    return response.STATUS_CODE_CONSTANT
