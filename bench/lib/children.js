'use strict';
/**
 * Child processes and temp dirs of a bench run, cleaned up on every way out: normal end,
 * error, SIGINT/SIGTERM. Only the processes spawned here are signalled, by their own pid.
 */
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const children = new Set();
const tempDirs = new Set();
let installed = false;

function install() {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\n[bench] ${signal}: stopping children and removing temp dirs`);
      cleanupSync();
      process.exit(130);
    });
  }
}

function cleanupSync() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function track(child) {
  install();
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function tempDir(prefix) {
  install();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Leaves the dir in place at exit (--keep). */
function keepTempDir(dir) {
  tempDirs.delete(dir);
}

function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/**
 * A forked Node worker with request/answer IPC: `request(cmd, fields)` resolves with the
 * worker's answer carrying the same id.
 */
function forkWorker(file, { env, execArgv = [] } = {}) {
  const child = track(fork(file, [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const pending = new Map();
  const listeners = [];
  let nextId = 1;
  child.on('message', (msg) => {
    if (msg && msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(msg.error));
      else resolve(msg);
      return;
    }
    for (const listener of listeners) listener(msg);
  });
  child.on('exit', (code, signal) => {
    for (const { reject } of pending.values()) reject(new Error(`${path.basename(file)} exited (${signal || code})`));
    pending.clear();
  });
  return {
    child,
    pid: child.pid,
    onMessage(listener) {
      listeners.push(listener);
    },
    request(cmd, fields = {}, timeoutMs = 60_000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${path.basename(file)}: no answer to ${cmd} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          }
        });
        child.send({ id, cmd, ...fields });
      });
    }
  };
}

/** Resolves when the child has exited; SIGKILLs it after `graceMs`. */
function stopChild(child, signal = 'SIGTERM', graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(child.pid, signal);
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

module.exports = { spawn: (...args) => track(spawn(...args)), forkWorker, stopChild, tempDir, removeTempDir, keepTempDir, cleanupSync };
