"""The command line: create-user, seed-demo and reports warm."""
from datetime import date

from sqlalchemy import func, select

from crm.auth.models import Role, User
from crm.demo import DEMO_ACCOUNTS
from crm.extensions import db
from crm.reports import returns
from crm.reports.models import ReportFigures
from tests.conftest import TOTTORI


def test_create_user_with_password_on_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Kimura@Tottori.example.jp", "--role", "prefecture_staff", "--prefecture", "31", "--password-stdin"], input="a long cli passphrase\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kimura@tottori.example.jp"))
        assert user.prefecture_id == 31 and user.role == Role.PREFECTURE_STAFF


def test_create_user_refuses_a_missing_binding_and_a_weak_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "a@example.jp", "--role", "prefecture_staff", "--password-stdin"], input="a long cli passphrase\n")
    assert result.exit_code != 0 and "prefecture" in result.output
    result = runner.invoke(args=["create-user", "b@example.jp", "--role", "admin", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "12" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_is_idempotent_and_its_logins_work(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == len(DEMO_ACCOUNTS)
    for account in DEMO_ACCOUNTS:
        client = app.test_client()
        client.login(account["email"], account["password"])


def test_seed_demo_if_empty_leaves_a_used_database_alone(app, make_user):
    make_user(Role.ADMIN)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "not added" in result.output and "Demo sign-ins" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_make_run_prints_the_demo_sign_ins_every_time(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--if-empty"])
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not added" in again.output and DEMO_ACCOUNTS[0]["password"] in again.output


def test_reports_warm_stores_the_figures_reports_open_on_and_a_second_run_computes_nothing(app, signed_in, make_alumnus, make_activity,
                                                                                           monkeypatch):
    year = returns.default_year()
    for index in range(10):
        make_activity(make_alumnus(TOTTORI, family=f"Active{index}"), on=date(year, 6, 1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reports", "warm"])
    assert first.exit_code == 0, first.output
    # The trend's 年度 and one on each side: they bound the hidden figures (crm.reports.protection).
    years = returns.trend_years(returns.Filters(year))
    years = [years[0] - 1, *years, years[-1] + 1]
    keys = ("position=;country=", "cohort;position=;country=", "activity;position=;country=")
    expected = {(key, p, y) for key in keys for p in returns.PREFECTURES for y in years}
    expected |= {(key, p, y) for key in ("residence;position=;country=", "activity-countries;position=;country=")
                 for p in returns.PREFECTURES for y in (year - 1, year, year + 1)}
    with app.app_context():
        assert set(db.session.execute(select(ReportFigures.key, ReportFigures.prefecture_id, ReportFigures.fiscal_year))) == expected
    assert f"{len(expected)} computed" in first.output

    def computing(*_args):
        raise AssertionError("stored figures were computed again")

    for name in ("compute_cohort", "compute_activity", "residence_countries", "activity_countries"):
        monkeypatch.setattr(returns, name, computing)
    second = runner.invoke(args=["reports", "warm"])
    assert second.exit_code == 0, second.output
    assert " 0 computed" in second.output
    # What the command stored is what the dashboard and the reports open on (computing would fail).
    ministry = signed_in(Role.MINISTRY_REVIEWER)
    assert ministry.get("/reports/national").status_code == 200
    assert ministry.get(f"/reports/return/{TOTTORI}").status_code == 200
