"""Bad policies get one clear error: the file, the line, the field path and what was expected."""

import textwrap

import pytest

from harness.errors import InvalidPolicy
from harness.policy import StageBounds, load_policy

WF = "workflows.crm.renewal-discounts"


def _policy(gate_approve="min_runs: 20", extra_wf="", top="", ladder="[sandbox, suggest, approve]",
            bounds="max_writes: 5", people="dana: [release-owner]\nlee: [risk]"):
    return textwrap.dedent("""\
        version: 1
        people:
          {people}
        {top}
        workflows:
          crm.renewal-discounts:
            owner: dana
            ladder: {ladder}
            stages:
              suggest:
                gate:
                  min_runs: 10
                bounds:
                  {bounds}
              approve:
                gate:
                  {gate_approve}
            {extra_wf}
        """).format(people=_ind(people, 2), top=top, ladder=ladder, bounds=_ind(bounds, 10),
                    gate_approve=_ind(gate_approve, 10), extra_wf=_ind(extra_wf, 4))


def _ind(text, n):
    """Indent the continuation lines of a value put into the template."""
    return text.replace("\n", "\n" + " " * n)


def _load(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policy(path)


def _fails(tmp_path, text, field, expected=None, message=None):
    with pytest.raises(InvalidPolicy) as info:
        _load(tmp_path, text)
    exc = info.value
    assert exc.file.endswith("policy.yaml")
    assert exc.field == field, str(exc)
    if expected is not None:
        assert expected in (exc.expected or ""), str(exc)
    if message is not None:
        assert message in exc.message, str(exc)
    assert exc.exit_code == 2 and "policy.yaml" in str(exc)
    return exc


def test_the_base_policy_is_valid(tmp_path):
    policy = _load(tmp_path, _policy())
    assert policy.workflows["crm.renewal-discounts"].gate("approve").min_runs == 20
    assert policy.digest and policy.path.endswith("policy.yaml")


def test_negative_min_runs_names_field_line_and_expectation(tmp_path):
    exc = _fails(tmp_path, _policy("min_runs: -1"), f"{WF}.stages.approve.gate.min_runs", "an integer between 0 and",
                 "got -1")
    assert exc.line == 18
    assert "line 18" in str(exc) and "Expected an integer between 0 and 1e+09." in str(exc)


@pytest.mark.parametrize("value", ["ten", "2.5", "true"])
def test_min_runs_must_be_an_integer(tmp_path, value):
    _fails(tmp_path, _policy(f"min_runs: {value}"), f"{WF}.stages.approve.gate.min_runs", "an integer between 0 and")


def test_mistake_rate_is_a_fraction(tmp_path):
    _fails(tmp_path, _policy("max_mistake_rate: 1.5"), f"{WF}.stages.approve.gate.max_mistake_rate",
           "a number between 0 and 1")


def test_confidence_range(tmp_path):
    _fails(tmp_path, _policy("confidence: 0.3"), f"{WF}.stages.approve.gate.confidence", ">= 0.5 and < 1")


def test_method_is_a_known_one(tmp_path):
    _fails(tmp_path, _policy("method: bayes"), f"{WF}.stages.approve.gate.method", "clopper-pearson, wilson")


def test_unknown_gate_field_suggests_the_right_one(tmp_path):
    _fails(tmp_path, _policy("min_run: 5"), f"{WF}.stages.approve.gate.min_run", "min_runs",
           "Did you mean `min_runs`?")


def test_unknown_top_level_field(tmp_path):
    _fails(tmp_path, _policy(top="workflow: {}"), "workflow", "workflows", "unknown field")


def test_unknown_stage_name(tmp_path):
    text = _policy().replace("      approve:\n", "      approvee:\n")
    _fails(tmp_path, text, f"{WF}.stages.approvee", "one of sandbox, suggest, approve, autonomous")


def test_unknown_severity(tmp_path):
    _fails(tmp_path, _policy("max_severity: catastrophic"), f"{WF}.stages.approve.gate.max_severity",
           "one of low, medium, high, critical")


def test_counted_severities_cannot_be_empty(tmp_path):
    _fails(tmp_path, _policy("count_severities: []"), f"{WF}.stages.approve.gate.count_severities", "a list")


def test_blast_percentile_range(tmp_path):
    _fails(tmp_path, _policy("blast_radius: {entities_touched: {percentile: 120, max: 0}}"),
           f"{WF}.stages.approve.gate.blast_radius.entities_touched.percentile", "a number > 0 and <= 100")


def test_blast_dimension_must_be_known(tmp_path):
    _fails(tmp_path, _policy("blast_radius: {collateral: {max: 1}}"),
           f"{WF}.stages.approve.gate.blast_radius.collateral", "entities_touched", "unknown field")


def test_blast_limit_shape(tmp_path):
    _fails(tmp_path, _policy("blast_radius: {files_lost: 3}"), f"{WF}.stages.approve.gate.blast_radius.files_lost",
           "a mapping with the fields max, percentile")


def test_allowed_tools_is_a_list_of_exact_names(tmp_path):
    _fails(tmp_path, _policy(bounds="allowed_tools: crm_read"), f"{WF}.stages.suggest.bounds.allowed_tools",
           "a list")
    _fails(tmp_path, _policy(bounds="allowed_tools: [crm_read, 'crm_*']"),
           f"{WF}.stages.suggest.bounds.allowed_tools[1]", "exact tool names", "glob")


def test_bounds_max_writes_non_negative(tmp_path):
    _fails(tmp_path, _policy(bounds="max_writes: -3"), f"{WF}.stages.suggest.bounds.max_writes",
           "an integer between 0 and")


def test_unknown_bounds_field(tmp_path):
    _fails(tmp_path, _policy(bounds="max_write: 3"), f"{WF}.stages.suggest.bounds.max_write", "max_writes")


def test_window_runs_at_least_one(tmp_path):
    _fails(tmp_path, _policy("window_runs: 0"), f"{WF}.stages.approve.gate.window_runs", "an integer between 1 and")


def test_demotion_trigger_kind(tmp_path):
    _fails(tmp_path, _policy(extra_wf="demotion:\n  - {on: explode, to: sandbox}"), f"{WF}.demotion[0].on",
           "severity", "not a kind of demotion trigger")


def test_demotion_trigger_needs_on(tmp_path):
    _fails(tmp_path, _policy(extra_wf="demotion:\n  - {to: sandbox}"), f"{WF}.demotion[0]", "on: severity")


def test_demotion_trigger_missing_field(tmp_path):
    _fails(tmp_path, _policy(extra_wf="demotion:\n  - {on: severity, to: sandbox}"),
           f"{WF}.demotion[0].at_least", "one of low, medium, high, critical", "missing")


def test_demotion_target_on_the_ladder(tmp_path):
    _fails(tmp_path, _policy(extra_wf="demotion:\n  - {on: severity, at_least: high, to: autonomous}"),
           f"{WF}.demotion[0].to", "a stage of the ladder")


def test_burn_rate_windows_in_order(tmp_path):
    trigger = "{on: mistake_rate, window_runs: 10, short_window_runs: 50, max_rate: 0.1, to: suggest}"
    _fails(tmp_path, _policy(extra_wf=f"demotion:\n  - {trigger}"), f"{WF}.demotion[0].short_window_runs",
           "window_runs (10)")


def test_ladder_starts_at_sandbox(tmp_path):
    _fails(tmp_path, _policy(ladder="[suggest, approve]"), f"{WF}.ladder", "[sandbox, suggest")


def test_ladder_in_order(tmp_path):
    _fails(tmp_path, _policy(ladder="[sandbox, approve, suggest]"), f"{WF}.ladder", "in the order")


def test_every_stage_after_sandbox_needs_a_gate(tmp_path):
    _fails(tmp_path, _policy(ladder="[sandbox, suggest, approve, autonomous]"),
           f"{WF}.stages.autonomous.gate", "a gate for every stage")


def test_sandbox_has_no_gate(tmp_path):
    text = _policy(extra_wf="").replace("    stages:\n", "    stages:\n      sandbox: {gate: {min_runs: 1}}\n")
    _fails(tmp_path, text, f"{WF}.stages.sandbox.gate", "no `gate` under sandbox")


def test_gate_that_can_never_be_met(tmp_path):
    _fails(tmp_path, _policy("min_runs: 500\nwindow_runs: 100"),
           f"{WF}.stages.approve.gate.min_runs", "<= window_runs (100)")


def test_signoff_role_nobody_holds(tmp_path):
    _fails(tmp_path, _policy("signoffs: {roles: [ciso]}"), f"{WF}.stages.approve.gate.signoffs.roles[0]",
           "a role given to someone")


def test_more_signoffs_than_people_with_the_roles(tmp_path):
    _fails(tmp_path, _policy("signoffs: {count: 3, roles: [release-owner, risk]}"),
           f"{WF}.stages.approve.gate.signoffs.count", "an integer <= 2")


def test_people_roles_are_lists(tmp_path):
    _fails(tmp_path, _policy(people="dana: release-owner"), "people.dana", "a list")


def test_version(tmp_path):
    _fails(tmp_path, _policy().replace("version: 1", "version: 2"), "version", "one of 1")


def test_carry_over_is_a_boolean(tmp_path):
    _fails(tmp_path, _policy(extra_wf="carry_over_versions: maybe"), f"{WF}.carry_over_versions", "true or false")


def test_unsafe_yaml_is_refused(tmp_path):
    with pytest.raises(InvalidPolicy, match="not allowed"):
        _load(tmp_path, "workflows: !!python/object/apply:os.system ['echo hi']\n")


def test_duplicate_keys_are_refused(tmp_path):
    with pytest.raises(InvalidPolicy, match="appears twice"):
        _load(tmp_path, "people: {}\npeople: {}\n")


def test_not_a_mapping_and_missing_file(tmp_path):
    with pytest.raises(InvalidPolicy, match="must be a mapping"):
        _load(tmp_path, "- a\n- b\n")
    with pytest.raises(InvalidPolicy, match="cannot read") as info:
        load_policy(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)


def test_several_problems_are_counted(tmp_path):
    exc = _fails(tmp_path, _policy("min_runs: -1\nmax_errors: -2"), f"{WF}.stages.approve.gate.min_runs")
    assert "1 more problem" in exc.message


def test_bundled_policy_is_valid_and_covers_bundled_workflows():
    from harness.config import BUNDLED_WORKFLOWS

    policy = load_policy()
    assert set(policy.workflows) == set(BUNDLED_WORKFLOWS)
    for name in BUNDLED_WORKFLOWS:
        wf = policy.workflows[name]
        assert wf.ladder == ["sandbox", "suggest", "approve", "autonomous"]
        assert 15 <= wf.gate("suggest").min_runs <= 30 and 50 <= wf.gate("approve").min_runs <= 100
        assert 0.10 <= wf.gate("suggest").max_mistake_rate <= 0.20
        assert {t.on for t in wf.demotion} == {"severity", "mistake_rate", "incident"}  # `on:` survived YAML 1.1


def test_bounds_for():
    policy = load_policy()
    assert policy.bounds_for("files.cleanup", "approve").protected_paths == ["/legal/**"]
    assert policy.bounds_for("crm.renewal-discounts", "suggest").max_discount_pct == 20
    assert policy.bounds_for("crm.renewal-discounts", "sandbox") == StageBounds()
    assert policy.bounds_for("no.such-workflow", "autonomous") == StageBounds()
    assert set(StageBounds.model_fields) == {"allowed_tools", "max_writes", "max_discount_pct",
                                             "allowed_recipient_domains", "protected_paths", "max_money_exposed"}


def test_policy_path_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "mine.yaml"
    path.write_text(_policy())
    monkeypatch.setenv("HARNESS_POLICY", str(path))
    assert load_policy().path == str(path)
