// Shared runner for the npm SDK scenarios (tests/sdk/*.js); see scenario.py for the config that
// tests/sdks.rs passes as argv[2] and for what a scenario reports.
'use strict';

const CONFIG = JSON.parse(process.argv[2]);
const RESULTS = [];

const ENTRIES = {
  emails: [{ type: 'work', value: 'grace@sdk.example' }, { type: 'work', value: 'hopper@sdk.example' }],
  phones: [{ type: 'work', value: '555-0100' }, { type: 'work', value: '555-0199' }],
  chats: [{ type: 'skype', value: 'grace.sdk' }, { type: 'skype', value: 'hopper.sdk' }],
  'social-profiles': [{ type: 'twitter', value: 'https://twitter.com/grace' }, { type: 'twitter', value: 'https://twitter.com/hopper' }],
  websites: [{ value: 'https://grace.example' }, { value: 'https://hopper.example' }],
};
const ADDRESS = { city: 'Arlington', state: 'VA', postalCode: '22201', country: 'US', lines: ['1 Navy Way'] };
const ADDRESS2 = { city: 'New York', state: 'NY', postalCode: '10001', country: 'US', lines: ['2 Broadway'] };
const EMBEDDED = { 'social-profiles': 'social_profiles' };

async function step (name, fn) {
  try {
    const out = await fn();
    RESULTS.push({ step: name, ok: true });
    return out;
  } catch (e) {
    const detail = e && e.response ? `${e.response.status} ${JSON.stringify(e.response.data)}` : String(e && e.stack ? e.stack : e);
    RESULTS.push({ step: name, ok: false, error: detail.slice(0, 2000) });
    return undefined;
  }
}

function check (cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function entries (customer, coll) {
  return ((customer || {})._embedded || {})[EMBEDDED[coll] || coll] || [];
}

// The SDKs hard-code https://api.helpscout.net/v2/: requests to it go to the gateway route.
function toGateway (url) {
  return String(url).replace('https://api.helpscout.net/v2/', `${CONFIG.base}/v2/`);
}

function finish () {
  const ok = RESULTS.every(r => r.ok);
  console.log(JSON.stringify({ ok, steps: RESULTS }));
  process.exit(ok ? 0 : 1);
}

module.exports = { CONFIG, ENTRIES, ADDRESS, ADDRESS2, step, check, entries, toGateway, finish };
