"""The user model's names: what customers see of staff."""


def test_staff_appear_to_customers_by_name_never_by_login_name(db):
    from tests.factories import make_user

    named = make_user("priya.k@corp", role="agent", first_name="Priya", last_name="Kumar")
    assert named.public_name == "Priya Kumar"
    agent = make_user("a.login@corp", role="agent", first_name="")
    manager = make_user("m.login@corp", role="manager", first_name="")
    assert agent.public_name == "Support agent"
    assert manager.public_name == "Support manager"
