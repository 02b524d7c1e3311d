"""The security properties template.yaml and witness.yaml must keep, checked on
the templates themselves (cfn-lint's parser): each one fails if the property it
names is taken out.
    python scripts/template-security-checks.py template.yaml witness.yaml
"""
import json
import sys

from cfnlint.decode import cfn_yaml


def load(path):
    return json.loads(json.dumps(cfn_yaml.load(path)))


template_path, witness_path = sys.argv[1], sys.argv[2]
template, witness = load(template_path), load(witness_path)
res = template["Resources"]
problems = []


def expect(ok, what):
    if not ok:
        problems.append(what)


def of_type(resources, kind):
    return {k: v for k, v in resources.items() if v.get("Type") == kind}


def text(value):
    return json.dumps(value)


def statements(node):
    """Every IAM statement under node, through Fn::If and the like."""
    if isinstance(node, dict):
        if "Effect" in node and "Action" in node:
            yield node
        for v in node.values():
            yield from statements(v)
    elif isinstance(node, list):
        for v in node:
            yield from statements(v)


# 1, 2: MFA required (TOTP), the code flow only, short tokens, no self-service email.
pool = res["OperatorUserPool"]["Properties"]
expect(pool.get("MfaConfiguration") == "ON", "the operator pool requires MFA (MfaConfiguration ON)")
expect(pool.get("EnabledMfas") == ["SOFTWARE_TOKEN_MFA"], "TOTP is the pool's only factor")
expect(pool["Policies"]["PasswordPolicy"].get("TemporaryPasswordValidityDays") == 1,
       "an invitation's temporary password lasts one day")
client = res["OperatorConsoleClient"]["Properties"]
expect(client.get("AllowedOAuthFlows") == ["code"], "the console client allows the code flow only")
expect(not client.get("GenerateSecret"), "the console client is a public client (PKCE)")
expect(client.get("ExplicitAuthFlows") == ["ALLOW_REFRESH_TOKEN_AUTH"],
       "no sign-in but the pool's own pages (ExplicitAuthFlows)")
expect("email" not in client.get("WriteAttributes", ["email"]), "operators cannot change their email")
expect(client.get("IdTokenValidity", 60) <= 15 and client.get("AccessTokenValidity", 60) <= 15,
       "ID and access tokens live 15 minutes at most")

# 3: the IAM allow-list is a parameter, empty by default, passed to the trigger.
expect(template["Parameters"]["OperatorRoleArns"].get("Default") == "",
       "OperatorRoleArns allows nobody by default")
trigger_env = res["FailoverTriggerFunction"]["Properties"]["Environment"]["Variables"]
expect("OPERATOR_ROLE_ARNS" in trigger_env, "the trigger reads OPERATOR_ROLE_ARNS")

# 5: /health is its own resource with a throttle of its own.
api = res["RegionalApi"]["Properties"]
health = [m for m in api.get("MethodSettings", []) if m.get("ResourcePath") == "/~1health"]
expect(health and health[0].get("ThrottlingRateLimit"), "/health has its own throttle")
events = res["RegionInfoFunction"]["Properties"]["Events"]
expect(any(e["Properties"].get("Path") == "/health" for e in events.values()),
       "/health is its own API resource")

# 7: only the deciders may publish to the STOP namespace.
deciders = {"FailoverTriggerRole", "DetectorRole"}
for name, role in of_type(res, "AWS::IAM::Role").items():
    for st in statements(role["Properties"].get("Policies", [])):
            actions = st.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            if "cloudwatch:PutMetricData" not in actions or st.get("Effect") != "Allow":
                continue
            namespace = text(st.get("Condition", {}).get("StringEquals", {}).get("cloudwatch:namespace"))
            expect(namespace != "null", f"{name}: PutMetricData has a cloudwatch:namespace condition")
            signals = "/Signals" in namespace
            expect(signals or name in deciders,
                   f"{name}: only the trigger and the detector publish to the STOP namespace")
for name, role in of_type(witness["Resources"], "AWS::IAM::Role").items():
    for st in statements(role["Properties"].get("Policies", [])):
            if "cloudwatch:PutMetricData" in text(st.get("Action")):
                expect("/Signals" in text(st.get("Condition")),
                       f"witness {name}: publishes to the Signals namespace only")

# 9: ARC safety overrides denied unless allowed.
expect("route53-recovery-cluster:AllowSafetyRulesOverrides" in text(res["FailoverTriggerRole"]),
       "the trigger's role conditions ARC overrides on AllowSafetyRulesOverrides")

# 10: the internet-facing function holds no database credential.
region_info_role = text(res["RegionInfoRole"])
expect("secretsmanager:" not in region_info_role and "kms:" not in region_info_role,
       "region-info's role has no Secrets Manager or KMS permission")
expect("DB_SECRET_ID" not in res["RegionInfoFunction"]["Properties"]["Environment"]["Variables"],
       "region-info gets no DB_SECRET_ID")

# 11: reserved concurrency and an on-failure destination for the control plane;
# access logs for the operator API.
for fn in ("FailoverTriggerFunction", "ReplicaPromoterFunction", "SecretRewriterFunction"):
    props = res[fn]["Properties"]
    expect("ReservedConcurrentExecutions" in props, f"{fn} reserves concurrency")
for fn in ("ReplicaPromoterFunction", "SecretRewriterFunction"):
    props = res[fn]["Properties"]
    expect("OnFailure" in text(props.get("EventInvokeConfig")), f"{fn} has an on-failure destination")
operator_api = [v for k, v in of_type(res, "AWS::Serverless::Api").items() if k != "RegionalApi"]
expect(operator_api and all("AccessLogSetting" in v["Properties"] for v in operator_api),
       "the operator API writes access logs")

if problems:
    for p in problems:
        print(f"FAIL  template security: {p}", file=sys.stderr)
    sys.exit(1)
print("ok    template security properties (MFA, code flow, allow-list, /health, STOP namespace, ARC override, region-info, concurrency, destinations, access logs)")
