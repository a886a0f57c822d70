"""The first preview of a new stack (``plan --fresh``): unknowns modelled as the engine and SDK do, and the
security documents the program builds stay known, so their rules run before anything exists.

* The harness: a dry run in which every output the one computed-outputs table adds is unknown, the SDK
  behaves as under the engine (applies skip unknowns, ``Output.json_dumps`` and invokes over an unknown are
  unknown as a whole), and the analyzer receives the engine's sentinel.
* Each area: a rule runs at first preview on a document built from invoke answers (partition, region and
  account) and configured names, with no unknown in it; changing the document changes the verdict.
* The shipped stacks: no blind rule except the IRSA trust documents (the OIDC issuer), each of whose
  identities is judged at preview by ``workload-identity-intent``; the verdicts are those of an existing stack.
* Programs: a stack transformation widening every controller policy with ``iam:PassRole`` on ``*`` fails
  ``plan --fresh``; an IRSA identity for a wildcard service account is stopped at first preview.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from automation.offline.analyzer import stack_properties
from automation.offline.mocks import COMPUTED, UNKNOWN
from automation.offline.monitor import Registration, flatten_refs, holds_unknown
from automation.offline.plan import check_policies, load_policy_config, plan
from automation.offline.runner import run_program
from components.addons.karpenter import Karpenter, KarpenterArgs
from components.addons.lb_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.storage import (
    DataBucket, DataBucketArgs, EbsStorage, EbsStorageArgs, EfsStorage, EfsStorageArgs, FsxLustre, FsxLustreArgs,
)
from components.fargate import FargateProfiles, FargateProfilesArgs
from components.config import FargateProfileConfig, FargateSelectorConfig
from components.identity import ClusterIdentity, WorkloadIdentity, WorkloadIdentityArgs
from tests.addon_helpers import CLUSTER, PRIVATE, TAGS, VPC, run_addon
from tests.helpers import REGION, of_type, run_component, stack_run
from tests.policy_helpers import analyze, hits

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "policies"
ACCOUNT = "123456789012"  # what the mocks' getCallerIdentity answers
TRUST_RULES = {"irsa-trust-scoped", "iam-trust-no-wildcard-principal"}
WI = "mlplatform:identity:WorkloadIdentity"


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "automation", "plan", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def judged(reg: Registration, rule: str) -> list:
    """The rule's diagnostics for ``reg``, after checking the rule did not go blind on it."""
    found = hits(analyze(reg), rule)
    assert not [d for d in found if "during preview" in d.message], [d.message for d in found]
    return found


def with_input(reg: Registration, key: str, value) -> Registration:
    changed = copy.deepcopy(reg)
    changed.wire_inputs = {**changed.wire_inputs, key: value}
    return changed


def add_statement(doc_text: str, statement: dict) -> str:
    doc = json.loads(doc_text)
    doc["Statement"] = [*doc["Statement"], statement]
    return json.dumps(doc)


# --------------------------------------------------------------------------- the harness


def test_a_fresh_run_is_a_dry_run_whose_computed_outputs_are_unknown():
    seen: dict[str, list] = {"arn": [], "name": [], "dry_run": []}

    def body(env):
        seen["dry_run"].append(pulumi.runtime.is_dry_run())
        role = aws.iam.Role("named", name="ml-test-named", assume_role_policy="{}")
        role.arn.apply(seen["arn"].append)    # computed by AWS: the callback must not run at preview
        role.name.apply(seen["name"].append)  # set by the program: known
        aws.iam.Role("auto", assume_role_policy="{}")

    run = run_component(body, fresh=True)
    assert seen == {"arn": [], "name": ["ml-test-named"], "dry_run": [True]}
    named, auto = run.one("aws:iam/role:Role", "named"), run.one("aws:iam/role:Role", "auto")
    assert named.pending and named.id == "" and stack_properties(named)["id"] == UNKNOWN
    assert named.wire_outputs["name"] == "ml-test-named" and named.wire_outputs["arn"] == UNKNOWN
    assert auto.wire_outputs["name"] == UNKNOWN  # Pulumi's auto-name carries a random suffix


def test_json_dumps_and_invokes_over_an_unknown_are_unknown_as_a_whole():
    def body(env):
        role = aws.iam.Role("r", name="ml-test-r", assume_role_policy="{}")
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                       "Resource": [role.arn, env.arn("s3", "x")]}]}
        aws.iam.Policy("dumps", policy=pulumi.Output.json_dumps(doc))
        trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="AWS", identifiers=[role.arn])])])
        aws.iam.Role("invoke", assume_role_policy=trust.json)
        known = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="AWS", identifiers=[env.role_arn("a")])])])
        aws.iam.Role("known", assume_role_policy=known.json)

    run = run_component(body, fresh=True)
    assert run.one("aws:iam/policy:Policy", "dumps").wire_inputs["policy"] == UNKNOWN
    assert run.one("aws:iam/role:Role", "invoke").wire_inputs["assumeRolePolicy"] == UNKNOWN
    doc = json.loads(run.one("aws:iam/role:Role", "known").wire_inputs["assumeRolePolicy"])
    assert doc["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/a"}


def test_the_mocks_answer_an_invoke_over_an_unknown_with_an_unknown_of_the_same_shape():
    """For the stock MockMonitor too (the recording monitor answers such invokes itself): same keys, all unknown,
    so the SDK's typed result is unknown as a whole instead of an empty document."""
    from pulumi.output import Unknown
    from pulumi.runtime.mocks import MockCallArgs

    from automation.offline.mocks import PlatformMocks

    token = "aws:iam/getPolicyDocument:getPolicyDocument"
    statement = {"actions": ["sts:AssumeRole"], "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::1:root"]}]}
    known = PlatformMocks(fresh=True).call(MockCallArgs(token, {"statements": [statement]}, ""))
    statement["principals"][0]["identifiers"] = [Unknown()]
    unknown = PlatformMocks(fresh=True).call(MockCallArgs(token, {"statements": [statement]}, ""))
    assert set(unknown) == set(known) and set(unknown.values()) == {UNKNOWN}


@pytest.fixture(scope="module")
def fresh_dev_plan():
    return plan("dev", fresh=True)


@pytest.fixture(scope="module")
def fresh_prod_plan():
    return plan("prod", fresh=True)


@pytest.fixture(scope="module")
def fresh_dev(fresh_dev_plan):
    return fresh_dev_plan.run


def test_only_what_the_program_sets_is_known(fresh_dev):
    """Every output a resource has beyond its inputs is unknown, and every created resource's ID too."""
    regs = [r for r in fresh_dev.registrations if r.origin == "program"]
    assert {r.type for r in regs} & set(COMPUTED)
    for r in regs:
        extra = {k: v for k, v in r.wire_outputs.items() if k not in r.wire_inputs}
        assert all(v == UNKNOWN for v in extra.values()), (r.urn, extra)
        if r.custom and not r.type.startswith("pulumi:providers:"):
            assert r.pending and r.id == "", r.urn
    # Objects merge key by key: a Kubernetes object keeps the metadata the program set, not what the API adds.
    ns = next(r for r in regs if r.type == "kubernetes:core/v1:Namespace")
    assert ns.wire_outputs["metadata"]["name"] == ns.wire_inputs["metadata"]["name"]
    assert ns.wire_outputs["metadata"]["uid"] == UNKNOWN
    # pulumi-eks outputs (kubeconfig, OIDC issuer, the cluster resource) are all unknown.
    (eks,) = [r for r in regs if r.type == "eks:index:Cluster"]
    assert {eks.wire_outputs[k] for k in ("kubeconfig", "oidcProviderArn", "oidcIssuer", "eksCluster")} == {UNKNOWN}


def test_references_to_new_resources_reach_the_analyzer_as_the_engine_sends_them():
    """A reference to a resource being created is flattened to its unknown ID (the engine marshals the computed
    ID of a reference as the unknown sentinel); a component, which has no ID, to its URN."""
    def body(env):
        role = aws.iam.Role("r", name="ml-test-r", assume_role_policy="{}")
        group = pulumi.ComponentResource("test:index:Group", "g")
        pulumi.CustomResource("test:index:Holder", "h", {"custom": role, "component": group})

    run = run_component(body, fresh=True)
    holder = run.one("test:index:Holder", "h")
    assert holder.wire_inputs["custom"]["id"] == UNKNOWN
    assert flatten_refs(holder.wire_inputs) == {"custom": UNKNOWN, "component": holder.wire_inputs["component"]["urn"]}


# --------------------------------------------------------------------------- each area, on one component


def test_identity_policy_is_known_and_judged_at_first_preview():
    """IAM: the LB controller's policy, in China, is built from invoke answers and the configured cluster name."""
    run = run_addon(lambda t, cfg: LoadBalancerController("lbc", LoadBalancerControllerArgs(target=t, vpc_id=VPC)),
                    region="cn-north-1", fresh=True)
    parts = of_type(run, "aws:iam/policy:Policy")  # the policy is split in parts (size headroom)
    assert len(parts) > 1
    texts = [pol.wire_inputs["policy"] for pol in parts]
    assert not any(holds_unknown(pol.wire_inputs) for pol in parts)
    assert any(f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:security-group/*" in text for text in texts)
    assert any(s.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceTag/elbv2.k8s.aws/cluster") == CLUSTER
               for text in texts for s in json.loads(text)["Statement"])
    for pol in parts:
        for rule in ("iam-no-privilege-escalation", "iam-no-wildcard-admin"):
            assert judged(pol, rule) == []
        widened = with_input(pol, "policy", add_statement(pol.wire_inputs["policy"], {
            "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}))
        assert [d.level for d in judged(widened, "iam-no-privilege-escalation")] == ["mandatory"]
        # Its attachment names the policy by an ARN built from parts: the admin-policy rule reads it at preview.
        (att,) = [a for a in of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                  if a.wire_inputs["policyArn"] == f"arn:aws-cn:iam::{ACCOUNT}:policy/{pol.wire_inputs['name']}"]
        assert judged(att, "iam-no-admin-policies-on-workloads") == []
        admin = with_input(att, "policyArn", "arn:aws-cn:iam::aws:policy/AdministratorAccess")
        assert judged(admin, "iam-no-admin-policies-on-workloads")


def test_karpenter_passes_only_its_node_role_by_a_known_arn():
    run = run_addon(lambda t, cfg: Karpenter("kp", KarpenterArgs(
        target=t, cpu_limit=64, gpu_limit=4, gpu_instance_families=["g5"], gpu_capacity_types=["on-demand"],
        expire_after="720h", tags=TAGS)), region="us-gov-west-1", fresh=True)
    node_role = run.one("aws:iam/role:Role", "kp-node-role")
    queue = run.one("aws:sqs/queue:Queue", "kp-interruptions")
    parts = [p for p in of_type(run, "aws:iam/policy:Policy") if p.name.startswith("kp-identity-policy")]
    assert len(parts) > 1 and not any(holds_unknown(p.wire_inputs) for p in parts)
    statements = {s["Sid"]: s for p in parts for s in json.loads(p.wire_inputs["policy"])["Statement"]}
    (pol,) = [p for p in parts if "AllowPassingInstanceRole" in p.wire_inputs["policy"]]
    assert statements["AllowPassingInstanceRole"]["Resource"] == \
        f"arn:aws-us-gov:iam::{ACCOUNT}:role/{node_role.wire_inputs['name']}"
    assert statements["AllowInterruptionQueueActions"]["Resource"] == \
        f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCOUNT}:{queue.wire_inputs['name']}"
    assert judged(pol, "iam-no-privilege-escalation") == []
    (qp,) = of_type(run, "aws:sqs/queuePolicy:QueuePolicy")
    assert not holds_unknown(qp.wire_inputs["policy"])
    assert queue.options["deleteBeforeReplace"] is True  # a fixed name cannot coexist with its replacement


def test_trust_policies_are_known_and_judged_at_first_preview():
    """Trust: Pod Identity names the configured cluster; Fargate's execution role too."""
    def body(env):
        cluster = ClusterIdentity(cluster_name=pulumi.Output.from_input("ml-test"),
                                  oidc_provider_arn="unused", oidc_issuer="unused", mode="pod-identity", env=env,
                                  configured_name="ml-test")
        WorkloadIdentity("wi", WorkloadIdentityArgs(cluster=cluster, namespace="team-a", service_account="trainer"))
        FargateProfiles("fg", FargateProfilesArgs(
            cluster_name=pulumi.Output.from_input("ml-test"), configured_cluster_name="ml-test",
            profiles={"p": FargateProfileConfig(selectors=(FargateSelectorConfig(namespace="inference"),))},
            subnet_ids=PRIVATE, env=env))

    run = run_component(body, region="eu-west-1", fresh=True)
    role = run.one("aws:iam/role:Role", "wi-role")
    trust = json.loads(role.wire_inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == \
        f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/ml-test"
    for rule in TRUST_RULES:
        assert judged(role, rule) == []
    anyone = with_input(role, "assumeRolePolicy", add_statement(role.wire_inputs["assumeRolePolicy"], {
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}}))
    assert judged(anyone, "iam-trust-no-wildcard-principal")
    fargate = run.one("aws:iam/role:Role", "fg-pod-execution-role")
    doc = json.loads(fargate.wire_inputs["assumeRolePolicy"])
    assert doc["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == \
        f"arn:aws:eks:eu-west-1:{ACCOUNT}:fargateprofile/ml-test/*"
    assert judged(fargate, "iam-trust-no-wildcard-principal") == []


def test_kms_key_policy_names_the_csi_role_by_a_known_arn():
    """KMS: the EBS key policy names the CSI role (ARN from parts); the key waits for the role to exist."""
    run = run_addon(lambda t, cfg: EbsStorage("ebs", EbsStorageArgs(target=t, tags=TAGS)), fresh=True)
    key = run.one("aws:kms/key:Key", "ebs-key")
    role = run.one("aws:iam/role:Role", "ebs-identity-role")
    doc = json.loads(key.wire_inputs["policy"])
    users = next(s for s in doc["Statement"] if s["Sid"] == "RolesUseKey")
    assert users["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/{role.wire_inputs['name']}"}
    by_urn = {r.urn: r for r in run.registrations}
    assert "ebs-identity-role" in {by_urn[u].name for u in key.dependencies if u in by_urn}
    assert judged(key, "kms-key-rotation") == []
    anyone = with_input(key, "policy", add_statement(key.wire_inputs["policy"], {
        "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Principal": {"AWS": "*"}}))
    assert judged(anyone, "kms-key-rotation")


def test_encryption_rules_run_on_keys_created_in_the_same_deploy():
    """Encryption: the key ARN is unknown at preview, and presence is all the rules need."""
    def build(t, cfg):
        EfsStorage("efs", EfsStorageArgs(target=t, vpc_id=VPC, subnet_ids=PRIVATE, client_security_group_ids=[],
                                         protect=True, tags=TAGS))
        FsxLustre("fsx", FsxLustreArgs(env=t.env, cluster_name=CLUSTER, vpc_id=VPC, subnet_id=PRIVATE[0],
                                       client_security_group_ids=[], capacity_gib=1200, throughput_per_tib=250,
                                       bucket_name="b", protect=True, tags=TAGS))

    run = run_addon(build, fresh=True)
    cases = [(run.one("aws:efs/fileSystem:FileSystem", "efs-fs"), "efs-encrypted"),
             (run.one("aws:fsx/lustreFileSystem:LustreFileSystem", "fsx-fs"), "fsx-customer-kms-key"),
             (run.one("eks:index:Cluster", "cl-eks"), "eks-secrets-encryption")]
    for reg, rule in cases:
        key_field = "encryptionConfigKeyArn" if rule == "eks-secrets-encryption" else "kmsKeyId"
        assert reg.wire_inputs[key_field] == UNKNOWN
        assert judged(reg, rule) == []
        without = copy.deepcopy(reg)
        del without.wire_inputs[key_field]
        assert [d.level for d in judged(without, rule)] == ["mandatory"], rule
    # The file-system and key policies are known: no Resource needs the file system's AWS-assigned ID.
    for reg in (run.one("aws:efs/fileSystemPolicy:FileSystemPolicy", "efs-fs-policy"),
                run.one("aws:kms/key:Key", "efs-key"), run.one("aws:kms/key:Key", "fsx-key")):
        assert not holds_unknown(reg.wire_inputs.get("policy")), reg.name


def test_bucket_policy_and_name_are_known_at_first_preview():
    run = run_component(lambda env: DataBucket("data", DataBucketArgs(
        bucket_name=env.bucket_name("ml-test", "data"), protect=True, env=env, tags=TAGS)),
        region="cn-northwest-1", fresh=True)
    bucket = run.one("aws:s3/bucket:Bucket", "data-bucket")
    name = f"ml-test-data-{ACCOUNT}-cn-northwest-1"
    assert bucket.wire_inputs["bucket"] == name
    (pol,) = of_type(run, "aws:s3/bucketPolicy:BucketPolicy")
    (deny,) = json.loads(pol.wire_inputs["policy"])["Statement"]
    assert deny["Resource"] == [f"arn:aws-cn:s3:::{name}", f"arn:aws-cn:s3:::{name}/*"]


# --------------------------------------------------------------------------- the shipped stacks


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_are_blind_only_to_irsa_trust_documents(stack, request):
    result = request.getfixturevalue(f"fresh_{stack}_plan")
    assert result.fresh and result.mode == "fresh" and result.exit_code == 0
    fresh, blind = result.run, result.blind
    # The first preview gives the verdicts a deployed stack gets (same pack, same config), minus nothing.
    diags, _ = check_policies(stack_run(stack), PACK, load_policy_config(PACK / "config" / f"{stack}.json"))
    assert not [d for d in diags if "during preview" in d.message]  # an existing stack has no blind rule
    assert {(d.policy, d.level, d.urn) for d in result.diagnostics} == {(d.policy, d.level, d.urn) for d in diags}
    by_urn = {r.urn: r for r in fresh.registrations}
    irsa_roles = {r.urn for r in fresh.registrations if r.type == "aws:iam/role:Role"
                  and by_urn.get(r.parent) is not None and by_urn[r.parent].type == WI
                  and by_urn[r.parent].inputs.get("identityMode") == "irsa"}
    assert irsa_roles, f"{stack} has no IRSA role (the VPC CNI always uses IRSA)"
    # Nothing else is blind: no IAM, trust, KMS or encryption rule, and no other rule either.
    assert {(d.policy, d.urn) for d in blind} == {(rule, urn) for rule in TRUST_RULES for urn in irsa_roles}
    assert all(d.level == "advisory" and d.path == ".assumeRolePolicy" and "OIDC issuer" in d.reason for d in blind)
    # Each of those identities has its intent judged at preview (compliant, and not blind).
    for urn in irsa_roles:
        identity = by_urn[by_urn[urn].parent]
        assert judged(identity, "workload-identity-intent") == []


def test_fresh_plan_text_and_json(fresh_dev_plan):
    """The command line's --fresh flag, the text saying which mode ran, and the JSON contract (fields added)."""
    import argparse
    import io

    from automation.offline.plan import add_arguments, print_summary

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    assert ap.parse_args(["--stack", "dev", "--fresh"]).fresh and not ap.parse_args(["--stack", "dev"]).fresh
    out = io.StringIO()
    print_summary(fresh_dev_plan, out)
    text = out.getvalue()
    assert "Mode: fresh" in text and "Blind at first preview" in text
    data = json.loads(json.dumps(fresh_dev_plan.as_json()))
    assert data["mode"] == "fresh" and data["summary"]["blind"] == len(data["blind"]) > 0
    assert data["summary"]["mandatory"] == 0  # blind rules are not verdicts: they never fail the plan
    for b in data["blind"]:
        assert {"policy", "urn", "message"} <= set(b) and b["policy"] in TRUST_RULES
        assert "OIDC issuer" in b["reason"] and "`up`" in b["reason"] and b["path"] == ".assumeRolePolicy"
        assert b["message"].startswith(f"can't run policy '{b['policy']}'")
        assert f"[{b['policy']}] {b['urn']}" in text
    assert not [d for d in data["diagnostics"] if "during preview" in d["message"]]  # kept apart
    assert text.strip().splitlines()[-1].endswith(f"{len(data['blind'])} blind")


PASSROLE_EVERYWHERE = '''
"""A change that widens every controller policy with iam:PassRole on "*", through a stack transformation."""
import json
import runpy
from pathlib import Path

import pulumi


def _widen(text):
    doc = json.loads(text)
    doc["Statement"].append({"Sid": "Widened", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    return json.dumps(doc)


def widen_controller_policies(args):
    if args.type_ == "aws:iam/policy:Policy" and args.name.startswith("addons-"):
        props = dict(args.props)
        props["policy"] = pulumi.Output.from_input(props["policy"]).apply(_widen)
        return pulumi.ResourceTransformationResult(props, args.opts)
    return None


pulumi.runtime.register_stack_transformation(widen_controller_policies)
runpy.run_path(str(Path.cwd() / "__main__.py"), run_name="__main__")
'''


def test_passrole_widening_fails_the_first_preview(tmp_path):
    prog = tmp_path / "widen.py"
    prog.write_text(PASSROLE_EVERYWHERE)
    out = tmp_path / "p.json"
    proc = plan_cli("--stack", "prod", "--fresh", "--program", str(prog), "--json", str(out))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    assert "[iam-no-privilege-escalation]" in proc.stdout
    data = json.loads(out.read_text())
    flagged = {d["urn"].rsplit("::", 1)[1] for d in data["diagnostics"]
               if d["policy"] == "iam-no-privilege-escalation" and d["level"] == "mandatory"}
    controllers = {r["name"] for r in data["resources"]
                   if r["type"] == "aws:iam/policy:Policy" and r["name"].startswith("addons-")}
    assert controllers and flagged == controllers, (flagged, controllers)
    assert all("iam:PassRole" in d["message"] for d in data["diagnostics"] if d["policy"] == "iam-no-privilege-escalation")
    assert not [b for b in data["blind"] if b["policy"] == "iam-no-privilege-escalation"]


WILDCARD_IRSA = '''
"""The platform, plus an IRSA identity for every service account of a namespace."""
import runpy
from pathlib import Path

from components.identity import WorkloadIdentity, WorkloadIdentityArgs

platform = runpy.run_path(str(Path.cwd() / "__main__.py"), run_name="__main__")
WorkloadIdentity("rogue", WorkloadIdentityArgs(
    cluster=platform["cluster"].identity, namespace="research", service_account="*", mode="irsa",
    create_service_account=False))
'''


def test_wildcard_irsa_identity_is_stopped_at_first_preview(tmp_path):
    prog = tmp_path / "rogue.py"
    prog.write_text(WILDCARD_IRSA)
    out = tmp_path / "p.json"
    proc = plan_cli("--stack", "dev", "--fresh", "--program", str(prog), "--json", str(out))
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    data = json.loads(out.read_text())
    (hit,) = [d for d in data["diagnostics"] if d["level"] == "mandatory"]
    assert hit["policy"] == "workload-identity-intent" and hit["urn"].endswith(f"{WI}::rogue")
    assert "wildcard" in hit["message"]
    # The rendered trust cannot be judged yet (it names the OIDC issuer): it is blind, with that reason.
    rogue = [b for b in data["blind"] if b["urn"].endswith("::rogue-role")]
    assert {b["policy"] for b in rogue} == TRUST_RULES and all("OIDC issuer" in b["reason"] for b in rogue)


# --------------------------------------------------------------------------- deterministic names


def test_names_are_bounded_stable_and_distinct():
    from components import naming

    long_cluster = "c" + "x" * 99  # the longest clusterName the config accepts
    a = naming.iam_name(long_cluster, "ap-southeast-4", "addons-karpenter-identity")
    b = naming.iam_name(long_cluster, "ap-southeast-4", "addons-karpenter-node")
    assert len(a) <= naming.IAM_ROLE_MAX and len(b) <= naming.IAM_ROLE_MAX and a != b
    assert a == naming.iam_name(long_cluster, "ap-southeast-4", "addons-karpenter-identity")  # stable
    assert naming.iam_name("ml-dev", "us-west-2", "karpenter-node") == "ml-dev-us-west-2-karpenter-node"
    bucket = naming.bucket_name("ML_Prod", "data", ACCOUNT, "us-gov-west-1")
    assert bucket == f"ml-prod-data-{ACCOUNT}-us-gov-west-1"
    long_bucket = naming.bucket_name(long_cluster, "data", ACCOUNT, "us-west-2")
    assert len(long_bucket) <= naming.S3_BUCKET_MAX and long_bucket == long_bucket.lower()
    assert long_bucket != naming.bucket_name(long_cluster, "data", "210987654321", "us-west-2")


@pytest.mark.parametrize("name", ["Upper-Case", "ab", "-starts-with-dash", "has..dots", "xn--punycode", "1.2.3.4",
                                  "a" * 64, "under_score"])
def test_a_bad_data_bucket_name_stops_the_program_naming_the_key(name):
    from components.config import ConfigError
    from tests.helpers import minimal_config

    with pytest.raises(ConfigError, match=r"^invalid config dataBucketName: "):
        minimal_config(dataBucketName=name)


def test_a_configured_data_bucket_name_is_used_as_is(tmp_path):
    run = run_program("dev", overrides={"dataBucketName": "acme-ml-datasets"}, fresh=True)
    bucket = run.one("aws:s3/bucket:Bucket", "addons-data-bucket")
    assert bucket.wire_inputs["bucket"] == "acme-ml-datasets"
    pol = run.one("aws:s3/bucketPolicy:BucketPolicy", "addons-data-tls-only")
    assert json.loads(pol.wire_inputs["policy"])["Statement"][0]["Resource"][0] == "arn:aws:s3:::acme-ml-datasets"
