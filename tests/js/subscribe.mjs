// Subscribes to alertRaised with the reference graphql-ws client, as a single-page app does
// (the token in connection_init's payload), prints "connected" once the server acknowledged
// the connection, then the first result as one line of JSON, and exits.
//
// Usage: node subscribe.mjs <ws://host:port/graphql/ws> <access token>
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node subscribe.mjs <wsUrl> <token>');
  process.exit(2);
}

const fail = (why) => {
  console.error(typeof why === 'string' ? why : JSON.stringify(why));
  process.exit(1);
};
setTimeout(() => fail('no result within 20 s'), 20_000).unref();

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: {
    connected: () => console.log('connected'),
    closed: (event) => {
      if (event && event.code !== 1000) fail(`closed: ${event.code} ${event.reason}`);
    },
  },
});

const query = 'subscription { alertRaised { id kind severity title relatedEntityId } }';
const results = client.iterate({ query });
try {
  const { value, done } = await results.next();
  if (done) fail('the subscription completed without a result');
  console.log(JSON.stringify(value));
  await results.return();
  await client.dispose();
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : err);
}
