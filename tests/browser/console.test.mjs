// The operator console as an operator uses it: load it, press Failover, give a
// reason, confirm, and see the decision and its steps; then fail back.
// Runs against `stopctl local` (the simulated world with the real operator API),
// with virtual time all but stopped so that nothing else moves meanwhile.
// Needs STOPCTL (the stopctl binary) and Debian's chromium; ./scripts/test provides both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chromium } from "playwright-core";

const server = process.env.STOPCTL;
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOT_DIR || "/tmp";

async function startServer() {
  assert.ok(server, "set STOPCTL to the stopctl binary");
  const child = spawn(server, ["local", "--port", "0", "--speed", "0.001", "--cooldown", "0"],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NO_COLOR: "1" } });
  const [line] = await once(child.stdout, "data");
  const match = /http:\/\/127\.0\.0\.1:(\d+)\/console/.exec(String(line));
  assert.ok(match, "server said: " + line);
  return { child, url: match[0] };
}

// Debian's chromium, headless, with nothing of its own on the network.
function launch() {
  return chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

test("failover and failback from the console", { timeout: 60_000 }, async () => {
  const { child, url } = await startServer();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);

    // Signed out: the API answers 401 and the page offers the sign-in, which
    // goes through the user pool's authorize endpoint (the code flow with
    // PKCE) and back; no token ever rides in the URL.
    const signIn = page.locator("#sign-in");
    await signIn.waitFor();
    const authorize = page.waitForRequest((r) => r.url().includes("/local/oauth2/authorize"));
    await signIn.click();
    const asked = new URL((await authorize).url());
    assert.equal(asked.searchParams.get("response_type"), "code");
    assert.equal(asked.searchParams.get("code_challenge_method"), "S256");
    assert.ok(asked.searchParams.get("state") && asked.searchParams.get("nonce"));
    assert.match(asked.searchParams.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/);

    const active = page.locator("#active-orders");
    await active.waitFor();
    assert.match(await active.textContent(), /us-east-1 \(primary\)/);
    assert.equal(new URL(page.url()).search, "", "the code is gone from the address bar");
    assert.doesNotMatch(page.url(), /token|code=/);
    // The readiness panel: the scheduled run's report, or that none ran yet
    // (virtual time barely moves here).
    assert.match(await page.locator("#readiness").textContent(),
      /Readiness(No readiness run yet|Ready to fail over|NOT ready)/);

    // Failover: the dialog insists on a reason.
    await page.click("#failover-orders");
    await page.locator("#confirm").waitFor({ state: "visible" });
    await page.click("#confirm-button");
    assert.equal(await page.locator("#confirm").isVisible(), true, "no reason, no failover");
    await page.fill("#reason", "drill: us-east-1 error rate, incident 4711");
    // Nor without a mode: the list has no default, so a planned drill can
    // never skip the drain by accident.
    assert.equal(await page.locator("#mode").inputValue(), "");
    await page.click("#confirm-button");
    assert.equal(await page.locator("#confirm").isVisible(), true, "no mode, no failover");
    assert.match(await page.locator("#active-orders").textContent(), /us-east-1/);
    await page.selectOption("#mode", "graceful");
    assert.match(await page.locator("#mode-cost").textContent(), /No acknowledged write is lost/);
    await page.selectOption("#mode", "ungraceful");
    assert.match(await page.locator("#mode-cost").textContent(), /up to the replica lag/);
    await page.click("#confirm-button");

    await page.waitForFunction(() => document.querySelector("#active-orders")?.textContent.includes("us-west-2"));
    assert.match(await page.locator("#banner").textContent(), /epoch 1, active us-west-2; changed stop-metric, arc-routing-controls/);
    const steps = page.locator("#steps-orders td:nth-child(2)");
    assert.deepEqual(await steps.allTextContents(), ["done", "done"]);
    // The data tier: writes fenced until the new writer is ready, no write RTO yet.
    const tier = await page.locator("#data-orders").textContent();
    assert.match(tier, /fenced: refused during the move/);
    assert.match(tier, /write RTO— \(writes not open yet\)/);
    assert.match(tier, /protected: a cross-Region copy/);
    assert.match(tier, /the deployed primary \(us-east-1\), moving to us-west-2/);
    await page.screenshot({ path: `${shots}/stop-console-failover.png`, fullPage: true });

    // Already in us-west-2 with every step done: nothing to press.
    assert.equal(await page.locator("#failover-orders").isDisabled(), true);
    assert.equal(await page.locator("#failback-orders").isDisabled(), false);

    // Failback.
    await page.click("#failback-orders");
    await page.fill("#reason", "us-east-1 healthy again");
    await page.selectOption("#mode", "graceful");
    await page.click("#confirm-button");
    await page.waitForFunction(() => document.querySelector("#active-orders")?.textContent.includes("us-east-1"));
    assert.match(await page.locator("#banner").textContent(), /epoch 2/);
    const recent = await page.locator("#service-orders table").nth(3).locator("td:first-child").allTextContents();
    assert.deepEqual(recent.slice(0, 2), ["2", "1"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    child.kill();
  }
});

test("a forged sign-in callback is refused and signs nobody in", { timeout: 60_000 }, async () => {
  const { child, url } = await startServer();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    // A link planted by someone else: a code and state this tab never asked for.
    await page.goto(url + "?code=stolen&state=forged");
    await page.waitForFunction(() => document.querySelector("#banner")?.textContent.includes("Sign-in refused"));
    await page.locator("#sign-in").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("stop-token")), null);
  } finally {
    await browser.close();
    child.kill();
  }
});
