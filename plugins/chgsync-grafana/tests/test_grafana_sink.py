"""The grafana marker sink over real HTTP against the Grafana stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from chgsync_grafana.settings import parse_settings
from chgsync_grafana.sink import GrafanaSink, annotation_tags, from_settings, key_tag, tags_length
from chgsync_grafana.standin import GrafanaStandIn
from werkzeug.wrappers import Request, Response

from chgsync.errors import RateLimited, RemoteError
from chgsync.markers import DeployMarker, MarkerPhase, MarkerSink
from chgsync.testing import assert_registers, config_problem

MakeSink = Callable[..., GrafanaSink]
MakeMarker = Callable[..., DeployMarker]


def ms(moment: datetime) -> int:
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def test_started_marker_creates_one_point_annotation(standin: GrafanaStandIn, make_sink: MakeSink,
                                                     marker: MakeMarker) -> None:
    sink = make_sink()
    assert isinstance(sink, MarkerSink)
    m = marker()

    made = sink.mark(m)

    (note,) = standin.annotations_tagged("change_id:chg-1001")
    assert made == str(note["id"])
    assert note["time"] == note["timeEnd"] == ms(m.at)
    assert note["tags"] == [key_tag(m.key), "change_id:chg-1001", "env:prod", "source:chgsync", "phase:started",
                            "service:checkout"]
    assert note["text"] == ('Upgrade the cart — Change CHG-1001 started on checkout in prod '
                            '(<a href="https://acme.atlassian.net/browse/OPS-42">Jira</a>)')
    assert note["dashboardId"] == 0 and note["panelId"] == 0  # an organisation annotation, found by tags
    assert standin.requests.count("GET", "/api/annotations") == 1  # the lookup before creating


def test_finish_turns_the_start_into_one_region(standin: GrafanaStandIn, make_sink: MakeSink,
                                                marker: MakeMarker) -> None:
    sink = make_sink()
    first = sink.mark(marker())
    done = marker(MarkerPhase.FINISHED, outcome="successful_with_issues", previous=first)

    again = sink.mark(done)

    assert again == first
    (region,) = standin.annotations_tagged("change_id:chg-1001")
    assert (region["time"], region["timeEnd"]) == (ms(marker().at), ms(done.at))
    assert region["timeEnd"] - region["time"] == 30 * 60 * 1000 + 250
    assert "outcome:successful_with_issues" in region["tags"] and "phase:finished" in region["tags"]
    assert "phase:started" not in region["tags"]
    assert region["text"].startswith("Upgrade the cart — Change CHG-1001 finished (successful with issues) on "
                                     "checkout in prod")
    assert standin.requests.count("PATCH", f"/api/annotations/{first}") == 1
    assert standin.requests.count("POST", "/api/annotations") == 1


def test_rollback_closes_the_region_as_rolled_back(standin: GrafanaStandIn, make_sink: MakeSink,
                                                   marker: MakeMarker) -> None:
    sink = make_sink()
    first = sink.mark(marker())

    assert sink.mark(marker(MarkerPhase.ROLLED_BACK, outcome="rolled_back", previous=first)) == first

    (region,) = standin.annotations_tagged("outcome:rolled_back")
    assert region["id"] == int(first) and region["timeEnd"] > region["time"]
    assert "phase:rolled_back" in region["tags"]
    assert "Change CHG-1001 rolled back on checkout in prod" in region["text"]


@pytest.mark.parametrize("with_start", [True, False])
def test_end_without_previous_creates_its_own_annotation(standin: GrafanaStandIn, make_sink: MakeSink,
                                                         marker: MakeMarker, with_start: bool) -> None:
    """A sink added after the change started has nothing to close: a region from started_at, or a point."""
    done = marker(MarkerPhase.FINISHED, outcome=None)
    if not with_start:
        done = marker(MarkerPhase.FINISHED, outcome=None, started_at=None)

    made = make_sink().mark(done)

    note = standin.annotation(made)
    assert note is not None
    assert note["timeEnd"] == ms(done.at)
    assert note["time"] == (ms(marker().at) if with_start else ms(done.at))
    assert "outcome:successful" in note["tags"]  # no outcome given: a finished change counts as successful


@pytest.mark.parametrize("lost", ["timeout", "proxy"])
def test_retry_after_a_lost_answer_finds_the_first_annotation(standin: GrafanaStandIn, make_sink: MakeSink,
                                                               marker: MakeMarker, lost: str) -> None:
    """Grafana stored the annotation but its answer never arrived: the retry must not add a second one."""
    answer = standin.handle
    done: list[str] = []

    def losing(request: Request) -> Response:
        real = answer(request)
        if request.method == "POST" and not done:
            done.append(request.path)
            if lost == "proxy":
                return standin.error_response(502, "Bad Gateway")
            time.sleep(0.6)  # past the sink's timeout
        return real

    standin.handle = losing  # type: ignore[method-assign]
    sink, m = make_sink(timeout=0.3), marker()

    with pytest.raises(RemoteError) as err:
        sink.mark(m)
    assert err.value.retryable
    deadline = time.monotonic() + 5  # the outbox backs off for longer than Grafana takes to finish
    while not standin.requests.count("POST", "/api/annotations") and time.monotonic() < deadline:
        time.sleep(0.02)
    made = sink.mark(m)

    (note,) = standin.annotations_tagged("change_id:chg-1001")
    assert made == str(note["id"])
    assert standin.requests.count("POST", "/api/annotations") == 1


def test_repeated_close_leaves_one_region(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    sink = make_sink()
    first = sink.mark(marker())
    done = marker(MarkerPhase.FINISHED, outcome="successful", previous=first)

    assert sink.mark(done) == sink.mark(done) == first

    (region,) = standin.annotations_tagged("change_id:chg-1001")
    assert region["timeEnd"] == ms(done.at) and region["tags"].count("outcome:successful") == 1


def test_deleted_annotation_gets_a_region_of_its_own(standin: GrafanaStandIn, make_sink: MakeSink,
                                                     marker: MakeMarker) -> None:
    sink = make_sink()
    first = sink.mark(marker())
    del standin.annotations[int(first)]  # someone removed it in Grafana

    made = sink.mark(marker(MarkerPhase.FINISHED, outcome="successful", previous=first))

    assert made != first
    (region,) = standin.annotations_tagged("change_id:chg-1001")
    assert region["id"] == int(made) and region["timeEnd"] > region["time"]


def test_dashboard_and_panel_bind_the_annotation(standin: GrafanaStandIn, make_sink: MakeSink,
                                                 marker: MakeMarker) -> None:
    standin.dashboards["ops-overview"] = 42

    made = make_sink(dashboard_uid="ops-overview", panel_id=7).mark(marker())

    note = standin.annotation(made)
    assert note is not None
    assert (note["dashboardUID"], note["dashboardId"], note["panelId"]) == ("ops-overview", 42, 7)


def test_org_id_is_sent_and_checked(marker: MakeMarker) -> None:
    with GrafanaStandIn(org_id=3) as grafana:
        right = from_settings({"url": grafana.base_url, "token": grafana.secret, "org_id": 3})
        made = right.mark(marker())
        assert grafana.annotation(made) is not None
        assert grafana.annotations[int(made)]["org_id"] == 3

        wrong = from_settings({"url": grafana.base_url, "token": grafana.secret, "org_id": 1})
        with pytest.raises(RemoteError) as err:
            wrong.mark(marker(key="other"))
        assert err.value.status == 401 and not err.value.retryable
        assert "does not belong to the requested organization" in err.value.remote_message
        right.close()
        wrong.close()


def test_wrong_token_is_final(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    with pytest.raises(RemoteError) as err:
        make_sink(token="glsa_not_the_token").mark(marker())

    assert err.value.status == 401 and not err.value.retryable
    assert err.value.remote_message == "Invalid API key [api-key.invalid]"
    assert standin.annotations == {}


def test_rate_limit_carries_retry_after(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    standin.faults.rate_limit(0, per=60, retry_after=17)

    with pytest.raises(RateLimited) as err:
        make_sink().mark(marker())

    assert err.value.retry_after == 17 and err.value.retryable
    assert err.value.remote_message == "Rate limit exceeded."


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker,
                                     status: int) -> None:
    sink = make_sink()
    first = sink.mark(marker())
    standin.faults.fail_next(1, status)

    with pytest.raises(RemoteError) as err:
        sink.mark(marker(MarkerPhase.FINISHED, previous=first))

    assert err.value.status == status and err.value.retryable
    assert f"update of annotation {first} for CHG-1001" in str(err.value)
    assert sink.mark(marker(MarkerPhase.FINISHED, previous=first)) == first


def test_unreachable_grafana_is_retryable(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    sink = make_sink(timeout=2)
    standin.stop()

    with pytest.raises(RemoteError) as err:
        sink.mark(marker())

    assert err.value.status is None and err.value.retryable


def test_wrong_url_is_final(standin: GrafanaStandIn, make_sink: MakeSink, marker: MakeMarker) -> None:
    with pytest.raises(RemoteError) as err:
        make_sink(url=f"{standin.base_url}/grafana").mark(marker())

    assert err.value.status == 404 and not err.value.retryable
    assert err.value.remote_message == "Not found"


def test_tags_survive_grafanas_parsing_and_limits(standin: GrafanaStandIn, make_sink: MakeSink,
                                                  marker: MakeMarker) -> None:
    services = ("db:primary", *(f"service-number-{n:02d}" for n in range(40)))
    m = marker(services=services, key="CHG-1001:mark:started>grafana:" + "x" * 300)

    made = make_sink().mark(m)

    note = standin.annotation(made)
    assert note is not None
    sent = annotation_tags(m)
    assert note["tags"] == sent  # nothing cut at a second colon, nothing refused
    assert tags_length(sent) <= 500
    assert "service:db_primary" in sent and "service:service-number-39" not in sent
    assert {"change_id:chg-1001", "env:prod", "source:chgsync", "phase:started"} <= set(sent)
    assert sent[0] == key_tag(m.key) and len(sent[0]) == len("chgsync_key:") + 32
    assert "service-number-39" in note["text"]  # left out of the tags, never out of the text


def test_text_is_escaped_and_links_can_be_plain(standin: GrafanaStandIn, make_sink: MakeSink,
                                                marker: MakeMarker) -> None:
    m = marker(title="Swap <b>cart</b> & co", links={"Jira": "https://acme.example/browse/OPS-42?a=1&b=2",
                                                      "ServiceNow": "CHG0031337"})
    html = standin.annotation(make_sink().mark(m))
    plain = standin.annotation(make_sink(html_links=False).mark(marker(key="plain", title="Swap <b>cart</b>")))

    assert html is not None and plain is not None
    assert html["text"] == ('Swap &lt;b&gt;cart&lt;/b&gt; &amp; co — Change CHG-1001 started on checkout in prod '
                            '(<a href="https://acme.example/browse/OPS-42?a=1&amp;b=2">Jira</a>, '
                            'ServiceNow: CHG0031337)')
    assert plain["text"] == ("Swap <b>cart</b> — Change CHG-1001 started on checkout in prod "
                             "(Jira: https://acme.atlassian.net/browse/OPS-42)")


@pytest.mark.parametrize(("settings", "field"), [
    ({"token": "glsa_x"}, "url"),
    ({"url": "https://grafana.example.com"}, "token"),
    ({"url": "grafana.example.com", "token": "glsa_x"}, "url"),
    ({"url": "https://grafana.example.com/api", "token": "glsa_x"}, "url"),
    ({"url": "https://grafana.example.com", "token": "  "}, "token"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "dashboard_uid": "no spaces"}, "dashboard_uid"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "panel_id": 2}, "panel_id"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "org_id": 0}, "org_id"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "timeout": 0}, "timeout"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "dashboard": "x"}, "dashboard"),
    ({"url": "https://grafana.example.com", "token_env": "CHGSYNC_TEST_NO_SUCH_VAR"}, "token_env"),
    ({"url": "https://grafana.example.com", "token": "glsa_x", "token_env": "GRAFANA_TOKEN"}, "token_env"),
])
def test_bad_settings_name_the_setting(settings: dict[str, Any], field: str) -> None:
    config_problem(lambda: from_settings(settings), field=field, component="grafana marker sink",
                   hidden=["glsa_x"])


def test_token_env_is_read_and_kept_secret() -> None:
    parsed = parse_settings({"url": "https://grafana.example.com/", "token_env": "GRAFANA_TOKEN"},
                            environ={"GRAFANA_TOKEN": "glsa_secret_value"})

    assert parsed.url == "https://grafana.example.com"
    assert parsed.token.get_secret_value() == "glsa_secret_value"
    assert "glsa_secret_value" not in repr(parsed)


def test_registered_as_marker_sink_and_emulator() -> None:
    from chgsync_grafana import plugin

    plugins = assert_registers(plugin, marker_sinks=["grafana"], emulators=["grafana"])

    sink_type = plugins.marker_sinks()["grafana"]
    assert isinstance(sink_type.factory({"url": "https://grafana.example.com", "token": "glsa_x"}), GrafanaSink)
    assert isinstance(plugins.emulators()["grafana"].factory(), GrafanaStandIn)
