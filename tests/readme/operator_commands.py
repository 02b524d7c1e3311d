#!/usr/bin/env python3
"""The README's commands that create an operator, run as written against moto's
Cognito (the AWS CLI, --endpoint-url the moto server), on a pool set up as the
template's OperatorUserPool: MFA ON with TOTP only, the operators group.

Checks what the README promises: the invitation goes by email to a verified
address, the user is not an operator until TOTP is enrolled, and then is.
Needs STOP_MOTO_ENDPOINT (scripts/env.sh, start_moto) and the AWS CLI.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = os.environ["STOP_MOTO_ENDPOINT"]
REGION = "us-west-2"
ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION=REGION,
    AWS_ENDPOINT_URL=ENDPOINT,
    AWS_PAGER="",
)
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def readme_commands(subcommand):
    """Each `aws cognito-idp <subcommand>` of the README's sh blocks, joined
    across its continuation lines, comments dropped."""
    text = (ROOT / "README.md").read_text()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" # ")[0].strip()
            if line.startswith(f"aws cognito-idp {subcommand} "):
                found.append(line)
    return found


def run(command, pool):
    # The README's "$POOL" is the stack output; here, moto's pool.
    argv = [a.replace("$POOL", pool) for a in shlex.split(command)]
    done = subprocess.run(argv, env=ENV, capture_output=True, text=True)
    check(done.returncode == 0, f"{' '.join(argv[:3])}: exit {done.returncode} {done.stderr.strip()[:300]}")
    return done.stdout


idp = boto3.client(
    "cognito-idp",
    region_name=REGION,
    endpoint_url=ENDPOINT,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
# As template.yaml's OperatorUserPool and OperatorGroup set them.
pool = idp.create_user_pool(
    PoolName="orders-stop-operators",
    UsernameAttributes=["email"],
    AutoVerifiedAttributes=["email"],
    MfaConfiguration="ON",
    AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
)["UserPool"]["Id"]
idp.set_user_pool_mfa_config(
    UserPoolId=pool,
    SoftwareTokenMfaConfiguration={"Enabled": True},
    MfaConfiguration="ON",
)
idp.create_group(GroupName="operators", UserPoolId=pool)

# The README's repair for a pool created OPTIONAL: it must leave MFA ON, TOTP.
for command in readme_commands("set-user-pool-mfa-config"):
    run(command, pool)
    mfa = idp.get_user_pool_mfa_config(UserPoolId=pool)
    check(
        mfa["MfaConfiguration"] == "ON" and mfa["SoftwareTokenMfaConfiguration"]["Enabled"],
        f"set-user-pool-mfa-config leaves MFA ON with TOTP: {mfa['MfaConfiguration']}",
    )

creates = readme_commands("admin-create-user")
check(len(creates) == 1, f"the README has one admin-create-user command ({len(creates)})")
for command in creates:
    run(command, pool)
username = re.search(r"--username (\S+)", creates[0]).group(1) if creates else "oncall@example.com"
user = idp.admin_get_user(UserPoolId=pool, Username=username)
attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
check(attributes.get("email") == username, f"the operator's email is {username}: {attributes.get('email')}")
check(attributes.get("email_verified") == "true", "the email is verified, so invitations and resets go there")
check("--desired-delivery-mediums EMAIL" in creates[0], "the invitation goes by email, not the default SMS")
check(user["UserStatus"] == "FORCE_CHANGE_PASSWORD", f"a new operator must set a password: {user['UserStatus']}")
groups = idp.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]
check(groups == [], "not an operator before enrolling TOTP")

# The operator enrols an authenticator (what managed login does at first
# sign-in), then the README's check and grant.
idp.admin_set_user_password(UserPoolId=pool, Username=username, Password="Correct-Horse-9!", Permanent=True)
client = idp.create_user_pool_client(UserPoolId=pool, ClientName="cli", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"])
client_id = client["UserPoolClient"]["ClientId"]
auth = idp.admin_initiate_auth(
    UserPoolId=pool,
    ClientId=client_id,
    AuthFlow="ADMIN_NO_SRP_AUTH",
    AuthParameters={"USERNAME": username, "PASSWORD": "Correct-Horse-9!"},
)
token = auth.get("AuthenticationResult", {}).get("AccessToken")
if token:
    idp.associate_software_token(AccessToken=token)
    idp.verify_software_token(AccessToken=token, UserCode="123456")
idp.admin_set_user_mfa_preference(
    UserPoolId=pool,
    Username=username,
    SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
)
gets = readme_commands("admin-get-user")
check(len(gets) == 1, f"the README has one admin-get-user check ({len(gets)})")
for command in gets:
    listed = run(command, pool)
    check("SOFTWARE_TOKEN_MFA" in listed, f"admin-get-user lists SOFTWARE_TOKEN_MFA once enrolled: {listed.strip()}")
adds = readme_commands("admin-add-user-to-group")
check(len(adds) == 1, f"the README has one admin-add-user-to-group command ({len(adds)})")
for command in adds:
    run(command, pool)
groups = idp.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]
check([g["GroupName"] for g in groups] == ["operators"], f"an operator now: {[g['GroupName'] for g in groups]}")

if failures:
    print(f"{len(failures)} README operator check(s) failed", file=sys.stderr)
    sys.exit(1)
print("the README's operator commands work as written (moto's Cognito)")
