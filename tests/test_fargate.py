"""Fargate profiles under mocks: private subnets, selectors, scoped pod execution role."""

from components.config import FargateProfileConfig, FargateSelectorConfig
from components.fargate import FargateProfiles, FargateProfilesArgs
from tests.helpers import of_type, policy_doc, run_component


def test_profiles_private_subnets_and_source_arn_scoped_role():
    profiles = {"serverless": FargateProfileConfig(selectors=(
        FargateSelectorConfig(namespace="inference", labels={"runtime": "fargate"}),))}
    run = run_component(lambda env: FargateProfiles("fg", FargateProfilesArgs(
        cluster_name="ml-test", profiles=profiles, subnet_ids=["subnet-p1", "subnet-p2"], env=env)))
    (p,) = of_type(run, "aws:eks/fargateProfile:FargateProfile")
    assert p.inputs["subnetIds"] == ["subnet-p1", "subnet-p2"]
    assert p.inputs["selectors"] == [{"namespace": "inference", "labels": {"runtime": "fargate"}}]
    role = run.one("aws:iam/role:Role", "fg-pod-execution-role")
    st = policy_doc(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert st["Principal"] == {"Service": "eks-fargate-pods.amazonaws.com"}
    assert st["Condition"]["ArnLike"]["aws:SourceArn"] == \
        "arn:aws:eks:us-west-2:123456789012:fargateprofile/ml-test/*"
    assert p.inputs["podExecutionRoleArn"] == role.outputs["arn"]
