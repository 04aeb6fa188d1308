"""Webhooks that report bounces and complaints: `POST /webhooks/ses`, Amazon SES via SNS.

Only messages from the SNS topics in SES_TOPIC_ARNS are accepted: any other topic gets 403,
checked first, so it costs no certificate fetch (SNS does not retry a 4xx). Every accepted
message's SNS signature is verified before anything else is read from it. A subscription
confirmation is only logged: an operator confirms it by opening the SubscribeURL from the log
(this app never fetches it). Errors are JSON; SNS retries only 5xx answers, so a message that
can never be accepted gets 400 and a certificate that cannot be fetched right now gets 503.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from broadsheet.bounces.intake import fingerprint, process_report
from broadsheet.bounces.ses import ses_reports
from broadsheet.bounces.sns import (
    CertificateUnavailable,
    NotificationError,
    SnsVerifier,
    TopicNotAllowed,
    check_topic,
)
from broadsheet.services.suppression import SoftBounceLimit
from broadsheet.settings import Settings
from web.db import session
from web.extensions import csrf

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
VERIFIER = "broadsheet.sns_verifier"


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # signed by Amazon SNS, not by a browser session
    # Tests replace it with a verifier whose certificate fetcher returns their own certificate.
    app.extensions[VERIFIER] = SnsVerifier()
    app.register_blueprint(bp)


@bp.post("/ses")
def ses() -> ResponseReturnValue:
    message = _sns_message()
    settings: Settings = current_app.config["BROADSHEET"]
    check_topic(message, settings.ses_topic_arns)
    current_app.extensions[VERIFIER].verify(message)
    kind, message_id, body = message["Type"], message["MessageId"], message["Message"]
    assert isinstance(message_id, str) and isinstance(body, str)  # signed, so verify() checked
    if kind == "SubscriptionConfirmation":
        log.warning(
            "SNS subscription to %s awaits confirmation: an operator must open %s",
            message["TopicArn"],
            message["SubscribeURL"],
        )
        return jsonify(status="confirmation logged; an operator must confirm it"), 200
    if kind == "UnsubscribeConfirmation":
        log.warning("SNS unsubscribed this endpoint from %s", message["TopicArn"])
        return jsonify(status="ignored"), 200
    soft_limit = SoftBounceLimit(settings.soft_bounce_limit, settings.soft_bounce_days)
    outcomes = [
        process_report(
            session(),
            report,
            key=fingerprint("ses", message_id, recipient),
            source="ses",
            secret=settings.secret_key,
            soft_limit=soft_limit,
        )
        for recipient, report in ses_reports(body)
    ]
    return jsonify(status="processed", outcomes=[o.action for o in outcomes]), 200


def _sns_message() -> dict[str, object]:
    """The SNS message: JSON, though SNS sends it as text/plain."""
    try:
        message = json.loads(request.get_data())
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise NotificationError("the body is not JSON") from exc
    if not isinstance(message, dict):
        raise NotificationError("the body is not a JSON object")
    announced = request.headers.get("x-amz-sns-message-type")
    if announced is not None and announced != message.get("Type"):
        raise NotificationError("x-amz-sns-message-type does not match the message Type")
    return message


@bp.errorhandler(NotificationError)
def _rejected(exc: NotificationError) -> ResponseReturnValue:
    log.warning("SNS message rejected from %s: %s", request.remote_addr, exc)
    return jsonify(error=str(exc)), 400


@bp.errorhandler(TopicNotAllowed)
def _foreign_topic(exc: TopicNotAllowed) -> ResponseReturnValue:
    # The topic is not authenticated yet (the signature is checked after this): say so.
    log.warning("SNS message refused from %s: %s (unverified)", request.remote_addr, exc)
    return jsonify(error=str(exc)), 403


@bp.errorhandler(CertificateUnavailable)
def _unavailable(exc: CertificateUnavailable) -> ResponseReturnValue:
    log.warning("SNS signing certificate unavailable: %s", exc)
    return jsonify(error="the signing certificate cannot be fetched now; try again"), 503


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return jsonify(error=exc.description or exc.name), exc.code or 500
