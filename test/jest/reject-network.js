// Any test that opens a TCP connection beyond this machine's loopback fails loudly: the
// suite must never depend on (or send traffic to) the outside network.
const net = require('node:net');

const original = net.Socket.prototype.connect;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;

net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  const options = first && typeof first === 'object' && !Array.isArray(first) ? first : null;
  const host = options ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
  const isPipe = options ? options.path !== undefined : typeof first === 'string' && Number.isNaN(Number(first));
  if (!isPipe && host !== undefined && !LOOPBACK.test(String(host))) {
    throw new Error(`test tried to reach ${host}: tests may only connect to loopback`);
  }
  return original.apply(this, args);
};
