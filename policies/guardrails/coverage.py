"""How the pack stands against checkov 3.3.30 and the CIS Amazon EKS Benchmark 1.8 (README "Coverage").

Which rule covers which check is the rules' own metadata (``checkov=``/``cis=`` on the decorators). This
module holds the rest, in our words: checks that do not apply to EKS, checks a tunable turns on, the one
check the platform does not take, the differences worth knowing, and short labels for the CIS items (the
vendored benchmark keeps ids only). Ids: checkov's (``CKV_K8S_15``) and ``CIS <item>`` (``CIS 4.1.4``).
Not imported by the pack; ``tools/readme_tables.py`` and the tests read it.
"""

from __future__ import annotations

#: checkov module-name prefixes of checks that read the command line of a self-hosted control-plane
#: component or kubelet (a static Pod manifest), and why they do not apply.
CONTROL_PLANE_MODULES = ("ApiServer", "KubeController", "ControllerManager", "Scheduler", "Etcd", "PeerClientCert",
                         "Kubelet", "Kublet", "RotateKubeletServerCertificate")
NOT_APPLICABLE_REASONS = {
    "psp": "PodSecurityPolicy was removed in Kubernetes 1.25; the platform runs 1.34+ (Pod Security Admission "
           "labels on team namespaces take its place).",
    "control-plane": "Reads flags of kube-apiserver/etcd/controller-manager/scheduler/kubelet static Pods; EKS "
                     "runs the control plane, and node kubelet settings are checked in user data "
                     "(kubelet-config-hardened, CIS 3.2).",
}

#: CIS items no infrastructure input can show, and why.
CIS_NOT_IAC = {
    "CIS 3.1.1": "File modes on the node's disk are set by the AMI; no input of the stack sets them.",
    "CIS 3.1.2": "File ownership on the node's disk is set by the AMI; no input of the stack sets it.",
    "CIS 3.1.3": "File modes on the node's disk are set by the AMI; no input of the stack sets them.",
    "CIS 3.1.4": "File ownership on the node's disk is set by the AMI; no input of the stack sets it.",
}

#: Checks a tunable enforces: id -> (rule, config that enforces it, why it is not the default).
TUNABLE = {
    "CKV_K8S_43": ("approved-registries-and-pinned-tags", {"requireDigest": True},
                   "Upstream images (PyTorch, TEI, the add-ons' charts) are published by tag; pinned version tags "
                   "plus imagePullPolicy Always and approved registries are the default bar. An organisation that "
                   "mirrors and digests every image turns requireDigest on."),
    "CKV_AWS_39": ("eks-public-endpoint-restricted", {"allowPublicEndpoint": False},
                   "dev reaches the API from an office range through a CIDR-limited public endpoint (CKV_AWS_38 "
                   "holds); prod sets allowPublicEndpoint: false, so the check is enforced there."),
    "CIS 5.4.2": ("eks-public-endpoint-restricted", {"allowPublicEndpoint": False},
                  "The private endpoint is always required (eks-private-endpoint); turning the public one off is "
                  "prod's setting, dev keeps a CIDR-limited one."),
    "CIS 4.4.2": ("kubernetes-secrets-external", {"allowInlineSecrets": False},
                  "Secrets the platform itself needs (e.g. Grafana's admin password) are Pulumi secrets, encrypted "
                  "in state and written to one Kubernetes Secret; an organisation that keeps every secret in "
                  "Secrets Manager (Secrets Store CSI driver, External Secrets) refuses inline Secret data."),
}

#: Where the pack differs from the public check in an edge case (and the tunable that removes the difference).
NOTES = {
    "CKV_K8S_8": "Also on DaemonSets, ReplicationControllers, LeaderWorkerSets; Pods and PodTemplates with "
                 "restartPolicy Never/OnFailure run to completion and are exempt, as checkov exempts Jobs.",
    "CKV_K8S_9": "As CKV_K8S_8.",
    "CKV_K8S_31": "Localhost profiles are accepted too (allowLocalhostProfiles: false accepts RuntimeDefault only).",
    "CKV_K8S_38": "A pod annotated mlplatform.io/needs-kubernetes-api may mount a token, as its own service account "
                  "(default-service-account-unused); allowDeclaredNeed: false refuses every token.",
    "CKV_K8S_45": "Stricter: Tiller is refused altogether, not only when it listens beyond localhost.",
    "CKV_K8S_156": "Stricter: either grant (CSR approval or signer approve) is refused, not only both together.",
    "CKV2_K8S_1": "Stricter: the role is refused whoever it is bound to, not only ServiceAccounts and Nodes.",
    "CKV2_K8S_2": "Stricter: any verb on pods/exec, pods/attach or nodes/proxy, whoever it is bound to.",
    "CKV2_K8S_3": "Stricter: impersonate on anything, whoever the role is bound to.",
    "CKV2_K8S_4": "Stricter: refused on the role, whoever it is bound to.",
    "CKV2_K8S_5": "On the role, whoever it is bound to; reads limited by resourceNames are accepted "
                  "(allowNamedSecretRead: false refuses them).",
    "CKV2_K8S_6": "Every Namespace the stack creates needs a NetworkPolicy, and bare Pods one that selects them; "
                  "exemptNamespaces lists reviewed exceptions (prod: monitoring).",
    "CIS 2.1.2": "The cluster's /aws/eks/<name>/cluster log group is in the stack with a retention "
                 "(log-groups-retention sets the floor).",
    "CIS 3.2.1": "CIS 3.2.x: EKS-optimized AMIs meet them; the pack refuses user data, kubelet arguments, nodeadm "
                 "NodeConfig or KubeletConfiguration that undo them (Bottlerocket TOML settings are not parsed).",
    "CIS 4.1.1": "cluster-admin bindings: only Group system:masters unless allowedSubjects lists more; EKS access "
                 "policies: eks-cluster-admin-access.",
    "CIS 4.1.2": "Reads limited by resourceNames are accepted (allowNamedSecretRead: false refuses them, as the "
                 "kube-bench audit does).",
    "CIS 4.1.5": "A pod without serviceAccountName is accepted when it mounts no token.",
    "CIS 4.1.6": "As CKV_K8S_38: a declared need (annotation) is accepted, as the pod's own service account.",
    "CIS 4.2.1": "CIS 4.2.x: every pod template (CRDs included) and Helm values, not only running Pods.",
    "CIS 4.3.2": "Namespaces the stack creates; exemptNamespaces lists reviewed exceptions (prod: monitoring, whose "
                 "charts are scraped and called by the control plane from outside it).",
    "CIS 4.5.1": "Team namespaces carry a ResourceQuota, a LimitRange and a default-deny NetworkPolicy; nothing "
                 "lands in default (no-default-namespace).",
    "CIS 5.1.4": "approvedRegistries; Helm values are held to the same list (helm-values-pod-security).",
}

#: Short labels for the CIS items, in our words.
CIS_LABELS = {
    "2.1.1": "Control-plane audit logs enabled",
    "2.1.2": "Audit logs collected and retained",
    "3.1.1": "Node kubeconfig file mode",
    "3.1.2": "Node kubeconfig file owner",
    "3.1.3": "Kubelet config file mode",
    "3.1.4": "Kubelet config file owner",
    "3.2.1": "Kubelet: no anonymous auth",
    "3.2.2": "Kubelet: authorization not AlwaysAllow",
    "3.2.3": "Kubelet: client CA configured",
    "3.2.4": "Kubelet: read-only port off",
    "3.2.5": "Kubelet: streaming connections time out",
    "3.2.6": "Kubelet: manages iptables util chains",
    "3.2.7": "Kubelet: records events",
    "3.2.8": "Kubelet: rotates client certificates",
    "3.2.9": "Kubelet: rotates serving certificates",
    "4.1.1": "cluster-admin only where required",
    "4.1.2": "Minimal access to Secrets",
    "4.1.3": "No wildcards in roles",
    "4.1.4": "Minimal pod creation",
    "4.1.5": "Default service accounts unused",
    "4.1.6": "Service-account tokens only where needed",
    "4.1.7": "EKS access entries (Cluster Access Manager API)",
    "4.1.8": "No bind, impersonate or escalate",
    "4.1.9": "Minimal PersistentVolume creation",
    "4.1.10": "Minimal nodes/proxy access",
    "4.1.11": "Minimal webhook configuration access",
    "4.1.12": "Minimal service-account token creation",
    "4.2.1": "No privileged containers",
    "4.2.2": "No host PID namespace",
    "4.2.3": "No host IPC namespace",
    "4.2.4": "No host network namespace",
    "4.2.5": "No privilege escalation",
    "4.3.1": "CNI enforces NetworkPolicy",
    "4.3.2": "Every namespace has NetworkPolicies",
    "4.4.1": "Secrets as files, not environment variables",
    "4.4.2": "External secret storage",
    "4.5.1": "Namespaces as administrative boundaries",
    "4.5.2": "Default namespace unused",
    "5.1.1": "ECR image scanning",
    "5.1.2": "Minimal user access to ECR",
    "5.1.3": "Cluster access to ECR read-only",
    "5.1.4": "Approved registries only",
    "5.2.1": "Dedicated IAM role per service account",
    "5.3.1": "Secrets encrypted with a customer KMS key",
    "5.4.1": "Restricted control-plane endpoint",
    "5.4.2": "Private endpoint on, public endpoint off",
    "5.4.3": "Private nodes",
    "5.4.4": "NetworkPolicy enabled",
    "5.4.5": "TLS on load balancers",
    "5.5.1": "Kubernetes users authenticated by IAM",
}


def checkov_not_applicable(entry: dict) -> str:
    """Why a vendored checkov Kubernetes check does not apply to EKS manifests, or "" when it applies."""
    if entry.get("kinds") == ["PodSecurityPolicy"]:
        return NOT_APPLICABLE_REASONS["psp"]
    if str(entry.get("module", "")).startswith(CONTROL_PLANE_MODULES):
        return NOT_APPLICABLE_REASONS["control-plane"]
    return ""
