"""Outside validators: tools nobody here wrote check what the stacks would apply.

``python -m validators --stack dev`` (or ``make validate``); see README "Outside validators".
Modules: k8s_schemas (kubernetes-validate, strict), kubeflow_models (Kubeflow's published models),
crds (every custom resource against its vendored upstream CRD: structural, with k8s_cel for the CEL
rules and upstream for the vendored facts), admission (Trainer/Kueue webhook ports), helm_values (release
values against the pinned charts), pods (CRD pod templates as Pods), checkov_runner and
parliament_runner (each in its own virtualenv, see envs), report (how findings are printed).
"""
