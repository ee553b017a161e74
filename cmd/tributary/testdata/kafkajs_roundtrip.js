// A kafkajs client's session against a Tributary broker, run by
// TestKafkajsRoundTrip: admin (create topics, metadata, configs, cluster,
// offsets, delete), a producer (acks -1 uncompressed, then acks 1 gzip; keys,
// headers, timestamps) and a group consumer reading everything back. It
// prints one JSON object with what it saw; the Go test checks it.
//
// usage: node kafkajs_roundtrip.js BROKER TOPIC RECORDS
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [broker, topic, records] = process.argv.slice(2);
const n = Number(records);
const kafka = new Kafka({
  clientId: 'tributary-kafkajs-test',
  brokers: [broker],
  logLevel: logLevel.ERROR,
  retry: { retries: 8 },
});

async function main() {
  const out = {};
  const admin = kafka.admin();
  await admin.connect();
  out.created = await admin.createTopics({
    topics: [
      { topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '86400000' }] },
      { topic: `${topic}-doomed` },
    ],
    waitForLeaders: true,
  });
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  out.partitions = md.topics[0].partitions.map((p) => ({ id: p.partitionId, leader: p.leader }));
  const cfg = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }], // 2: topic
    includeSynonyms: false,
  });
  out.retention = cfg.resources[0].configEntries.map((e) => `${e.configName}=${e.configValue}`);
  const cluster = await admin.describeCluster();
  out.brokers = cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`);

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const phases = [
    { acks: -1, compression: CompressionTypes.None, from: 0, to: n / 2 },
    { acks: 1, compression: CompressionTypes.GZIP, from: n / 2, to: n },
  ];
  for (const ph of phases) {
    for (let from = ph.from; from < ph.to; from += 250) {
      const messages = [];
      for (let i = from; i < Math.min(from + 250, ph.to); i++) {
        messages.push({
          key: `k${i % 10}`,
          value: `v${i}`,
          headers: { seq: String(i) },
          timestamp: String(1700000000000 + i),
        });
      }
      await producer.send({ topic, acks: ph.acks, compression: ph.compression, messages });
    }
  }
  await producer.disconnect();
  out.endOffsets = (await admin.fetchTopicOffsets(topic))
    .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
    .sort((a, b) => a.partition - b.partition);

  const consumer = kafka.consumer({ groupId: `${topic}-readers`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          seen.push({
            partition,
            offset: Number(message.offset),
            key: message.key.toString(),
            value: message.value.toString(),
            seq: message.headers.seq.toString(),
            timestamp: Number(message.timestamp),
          });
          if (seen.length === n) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  out.consumed = seen;

  await admin.deleteTopics({ topics: [`${topic}-doomed`] });
  out.topicsAfterDelete = (await admin.listTopics()).filter((t) => t.startsWith(topic)).sort();
  await admin.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
