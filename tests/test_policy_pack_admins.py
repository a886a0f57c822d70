"""A stack's pack config gets the stack's own admins as cluster-admin principals only where it lists none."""

from __future__ import annotations

import json

from automation.policy_pack import stack_admins, with_stack_admins

ADMIN = "arn:aws:iam::111122223333:role/PlatformAdmin"
CONFIG = {"mlplatform:adminRoleArns": json.dumps([ADMIN]), "mlplatform:azCount": "3"}


class ConfigValue:  # the Automation API's shape: the value is the text the CLI stores
    def __init__(self, value: str) -> None:
        self.value = value


def test_admins_are_read_from_config_text_or_config_values():
    assert stack_admins(CONFIG) == [ADMIN]
    assert stack_admins({"mlplatform:adminRoleArns": ConfigValue(json.dumps([ADMIN]))}) == [ADMIN]
    assert stack_admins({"mlplatform:adminRoleArns": "not json"}) == [] and stack_admins({}) == []


def test_no_pack_config_gets_the_stacks_admins():
    assert with_stack_admins({}, CONFIG) == {"eks-cluster-admin-access": {"allowedPrincipals": [ADMIN]}}


def test_a_level_only_entry_keeps_its_level_and_gains_the_admins():
    merged = with_stack_admins({"eks-cluster-admin-access": "advisory", "all": "mandatory"}, CONFIG)
    assert merged == {"all": "mandatory",
                      "eks-cluster-admin-access": {"enforcementLevel": "advisory", "allowedPrincipals": [ADMIN]}}


def test_a_reviewed_list_is_never_widened():
    reviewed = {"eks-cluster-admin-access": {"allowedPrincipals": ["arn:aws:iam::111122223333:role/Other"]}}
    assert with_stack_admins(reviewed, CONFIG) == reviewed
    empty = {"eks-cluster-admin-access": {"allowedPrincipals": []}}
    assert with_stack_admins(empty, CONFIG) == empty  # an explicit empty list means "nobody"


def test_a_stack_without_admins_changes_nothing():
    assert with_stack_admins({"required-tags": "advisory"}, {"mlplatform:azCount": "3"}) == {"required-tags": "advisory"}
