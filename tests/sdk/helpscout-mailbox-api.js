// npm helpscout-mailbox-api 1.0.1 against the gateway: token (JSON body), customers.get / update
// (PATCH) / overwrite (PUT) and the entry resources (customers.emails, .phones, .chatHandles,
// .socialProfiles, .websites, .addresses). Its token URL is a constant, so axios (the module it
// uses) gets an interceptor sending https://api.helpscout.net/v2/… to the gateway.
'use strict';

const path = require('path');
const { CONFIG, ENTRIES, ADDRESS, ADDRESS2, step, check, entries, toGateway, finish } = require(path.join(__dirname, 'scenario.js'));

const axios = require(require.resolve('axios', { paths: [path.dirname(require.resolve('helpscout-mailbox-api'))] }));
axios.interceptors.request.use(cfg => {
  const url = cfg.baseURL && !/^https?:/.test(cfg.url) ? cfg.baseURL.replace(/\/$/, '') + '/' + cfg.url : cfg.url;
  return Object.assign({}, cfg, { baseURL: undefined, url: toGateway(url) });
});
const HelpScout = require('helpscout-mailbox-api');

const RESOURCE = {
  emails: 'emails', phones: 'phones', chats: 'chatHandles', 'social-profiles': 'socialProfiles', websites: 'websites',
};

(async () => {
  const hs = new HelpScout({ clientId: CONFIG.client_id, clientSecret: CONFIG.client_secret, authenticationFlow: 'clientCredentials' });
  const id = CONFIG.id;
  const tokens = await step('token', () => hs.getTokens());
  if (!tokens) finish();
  hs.setCredentials(tokens);
  const get = async () => (await hs.customers.get(id)).data;

  let c = await step('get', get);
  await step('get: first name', () => check(c && c.firstName === 'Ada', JSON.stringify(c)));
  await step('overwrite (PUT)', () => hs.customers.overwrite(id, { firstName: 'Grace', lastName: 'Lovelace' }));
  await step('update (PATCH)', () => hs.customers.update(id, [{ op: 'replace', path: '/lastName', value: 'Hopper' }]));
  c = await step('get after update', get);
  await step('names', () => check(c && c.firstName === 'Grace' && c.lastName === 'Hopper', JSON.stringify(c)));

  for (const coll of CONFIG.colls) {
    const api = hs.customers[RESOURCE[coll]];
    const [first, second] = ENTRIES[coll];
    const created = await step(`create ${coll}`, () => api.create(id, first));
    const rid = created && created.headers['resource-id'];
    await step(`${coll}: 201 + Resource-ID`, () => check(created && created.status === 201 && /^[0-9]+$/.test(String(rid)), `${created && created.status} ${rid}`));
    await step(`${coll}: Location`, () => check(created && String(created.headers.location || '').endsWith(`/customers/${id}/${coll}/${rid}`), `${created && created.headers.location}`));
    await step(`update ${coll}`, () => api.update(id, rid, second));
    c = await step(`get after update ${coll}`, get);
    await step(`${coll} updated`, () => check(entries(c, coll).some(e => String(e.id) === String(rid) && e.value === second.value), JSON.stringify(entries(c, coll))));
    await step(`delete ${coll}`, () => api.delete(id, rid));
    c = await step(`get after delete ${coll}`, get);
    await step(`${coll} deleted`, () => check(!entries(c, coll).some(e => String(e.id) === String(rid)), JSON.stringify(entries(c, coll))));
  }

  if (CONFIG.address) {
    const a = await step('create address', () => hs.customers.addresses.create(id, ADDRESS));
    await step('address: 201', () => check(a && a.status === 201, `${a && a.status}`));
    await step('update address', () => hs.customers.addresses.update(id, ADDRESS2));
    c = await step('get after update address', get);
    await step('address', () => check(((c || {})._embedded || {}).address && c._embedded.address.city === 'New York', JSON.stringify(c)));
    await step('delete address', () => hs.customers.addresses.delete(id));
  }
  finish();
})();
