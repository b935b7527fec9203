// npm helpscout-2.0 1.1.5 against the gateway. It takes its token with the parameters in the
// query string and an empty body, then PATCH/PUT customers and creates, updates and deletes
// entries through its generic create/updatePut/rawApi methods. Its base URL is a constant, so the
// `request` module it uses is wrapped to send https://api.helpscout.net/v2/… to the gateway.
'use strict';

const path = require('path');
const { CONFIG, ENTRIES, ADDRESS, ADDRESS2, step, check, entries, toGateway, finish } = require(path.join(__dirname, 'scenario.js'));

const requestPath = require.resolve('request');
const request = require(requestPath);
function wrapped (opts, cb) {
  return request(Object.assign({}, opts, { url: toGateway(opts.url) }), cb);
}
require.cache[requestPath].exports = wrapped;
const HelpScout = require('helpscout-2.0');

(async () => {
  const hs = new HelpScout({ clientId: CONFIG.client_id, clientSecret: CONFIG.client_secret });
  const id = CONFIG.id;
  const base = 'https://api.helpscout.net/v2/';
  const get = () => hs.get('customers', id);

  await step('token', () => hs.getAccessToken());
  let c = await step('get', get);
  await step('get: first name', () => check(c && c.firstName === 'Ada', JSON.stringify(c)));
  await step('put', () => hs.updatePut('customers', id, { firstName: 'Grace', lastName: 'Lovelace' }));
  await step('patch', () => hs.updatePatch('customers', id, [{ op: 'replace', path: '/lastName', value: 'Hopper' }]));
  c = await step('get after patch', get);
  await step('names', () => check(c && c.firstName === 'Grace' && c.lastName === 'Hopper', JSON.stringify(c)));

  for (const coll of CONFIG.colls) {
    const [first, second] = ENTRIES[coll];
    const rid = await step(`create ${coll}`, () => hs.create(coll, first, 'customers', id));
    await step(`${coll}: Resource-ID`, () => check(/^[0-9]+$/.test(String(rid)), `Resource-ID ${rid}`));
    c = await step(`get after create ${coll}`, get);
    await step(`${coll} created`, () => check(entries(c, coll).some(e => String(e.id) === String(rid) && e.value === first.value), JSON.stringify(entries(c, coll))));
    await step(`update ${coll}`, () => hs.updatePut(coll, rid, second, 'customers', id));
    c = await step(`get after update ${coll}`, get);
    await step(`${coll} updated`, () => check(entries(c, coll).some(e => String(e.id) === String(rid) && e.value === second.value), JSON.stringify(entries(c, coll))));
    await step(`delete ${coll}`, () => hs.rawApi('DELETE', `${base}customers/${id}/${coll}/${rid}`, ''));
    c = await step(`get after delete ${coll}`, get);
    await step(`${coll} deleted`, () => check(!entries(c, coll).some(e => String(e.id) === String(rid)), JSON.stringify(entries(c, coll))));
  }

  if (CONFIG.address) {
    await step('create address', () => hs.create('address', ADDRESS, 'customers', id));
    await step('update address', () => hs.rawApi('PUT', `${base}customers/${id}/address`, ADDRESS2));
    c = await step('get after update address', get);
    await step('address', () => check(((c || {})._embedded || {}).address && c._embedded.address.city === 'New York', JSON.stringify(c)));
    await step('delete address', () => hs.rawApi('DELETE', `${base}customers/${id}/address`, ''));
  }
  finish();
})();
