#!/usr/bin/env node
// A simulated Z-Wave controller with one door lock node (User Code, Door Lock,
// Notification CC), served on a loopback TCP port for `zwave-server`, plus a small
// line-based JSON control channel so end-to-end tests can inspect and drive the lock.
//
// Usage: node mock_lock.cjs --ready-file PATH [--num-users 20] [--seed '{"3":"4567"}']
//
// When both ports listen, the ready file receives one JSON object:
//   {"zwavePort": N, "controlPort": M, "nodeId": 2, "homeId": H}
// Control requests are one JSON object per line, answered by one JSON line:
//   {"cmd": "read_codes"}                       -> {"ok": true, "result": {"1": {"status": 1, "code": "1234"}, ...}}
//   {"cmd": "seed_code", "slot": 3, "code": "4567", "status": 1}
//   {"cmd": "clear_code", "slot": 3}
//   {"cmd": "keypad_unlock", "slot": 3}         (Notification: Access Control / Keypad unlock)
//   {"cmd": "alarm_keypad_unlock", "slot": 3}   (v1 Alarm report: alarmType 19, alarmLevel 3)
//   {"cmd": "alarm_keypad_unlock", "slot": 3, "with_notification": true}
//                                               (one report carrying both: alarm bytes and
//                                                Access Control / Keypad unlock, userId 3)
//   {"cmd": "alarm", "type": 21, "level": 1}    (any v1 Alarm report)
//   {"cmd": "notify", "type": 6, "event": 5, "params": [3]}
//   {"cmd": "set_reachable", "reachable": false}   (node stops ACKing: out of range)
//   {"cmd": "reject_code_sets", "enabled": true}   (node ACKs User Code Set, keeps old code)
//   {"cmd": "refuse_duplicates", "enabled": true}  (a code another slot holds is not stored;
//                                                   Access Control event 15 is sent)
//   {"cmd": "ping"}
"use strict";

const fs = require("node:fs");
const net = require("node:net");
const Module = require("node:module");

const args = process.argv.slice(2);
function argValue(name, fallback) {
	const index = args.indexOf(name);
	return index === -1 ? fallback : args[index + 1];
}
const readyFile = argValue("--ready-file");
const numUsers = Number.parseInt(argValue("--num-users", "20"), 10);
const initialCodes = JSON.parse(argValue("--seed", "{}"));
const NODE_ID = 2;

// --- 1. Stub out mDNS: the mock server always advertises over @homebridge/ciao. ---------
const zwaveRequire = Module.createRequire(require.resolve("zwave-js/package.json"));
const ciaoPath = zwaveRequire.resolve("@homebridge/ciao");
const noopService = {
	advertise: async () => undefined,
	end: async () => undefined,
	destroy: async () => undefined,
};
const ciaoStub = new Module(ciaoPath);
ciaoStub.filename = ciaoPath;
ciaoStub.loaded = true;
ciaoStub.exports = {
	getResponder: () => ({
		createService: () => noopService,
		shutdown: async () => undefined,
	}),
};
require.cache[ciaoPath] = ciaoStub;

// --- 2. Re-split the TCP byte stream into Serial API frames. ----------------------------
// The stock mock server hands every TCP chunk to the mock serial port as one frame; when
// TCP merges an ACK with the next frame (or splits a frame) the mock controller fails.
const ACK = 0x06;
const NAK = 0x15;
const CAN = 0x18;
const SOF = 0x01;

function frameSplitter(onFrame) {
	let pending = Buffer.alloc(0);
	return (chunk) => {
		pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
		while (pending.length > 0) {
			const head = pending[0];
			let size;
			if (head === ACK || head === NAK || head === CAN) {
				size = 1;
			} else if (head === SOF) {
				if (pending.length < 2) return;
				size = pending[1] + 2;
			} else {
				// Garbage byte: pass it on alone, as a real serial port would.
				size = 1;
			}
			if (pending.length < size) return;
			const frame = pending.subarray(0, size);
			pending = pending.subarray(size);
			onFrame(Buffer.from(frame));
		}
	};
}

// The mock controller's state keys (MockControllerState in zwave-js): a host that
// left mid-transmission must not leave the controller "not idle" for the next one.
const COMMUNICATION_STATE = "communicationState";
const COMMUNICATION_IDLE = 0;
let mockController;
function hostGone() {
	mockController?.state.set(COMMUNICATION_STATE, COMMUNICATION_IDLE);
}

const realCreateServer = net.createServer;
net.createServer = function createFramedServer(...serverArgs) {
	const listenerIndex = serverArgs.findIndex((a) => typeof a === "function");
	if (listenerIndex !== -1) {
		const listener = serverArgs[listenerIndex];
		serverArgs[listenerIndex] = (socket) => {
			const originalOn = socket.on.bind(socket);
			socket.on = (event, handler) =>
				event === "data"
					? originalOn("data", frameSplitter(handler))
					: originalOn(event, handler);
			// A zwave-server killed outright resets the connection; like a serial
			// port outliving its host process, the controller waits for the next one,
			// and a transmission the old host left half done is forgotten.
			originalOn("error", (e) => console.log(`Client connection error: ${e.code}`));
			originalOn("close", hostGone);
			hostGone();
			return listener(socket);
		};
	}
	return realCreateServer.apply(net, serverArgs);
};

// --- 3. The simulated lock. -------------------------------------------------------------
const { MockServer } = require("zwave-js/Testing");
const { CommandClasses } = zwaveRequire("@zwave-js/core");
const {
	NotificationCCReport,
	NotificationCCGet,
	UserCodeCCSet,
} = zwaveRequire("@zwave-js/cc");
const { createMockZWaveRequestFrame } = zwaveRequire("@zwave-js/testing");

const ACCESS_CONTROL = 0x06;
const KEYPAD_UNLOCK = 0x06;
// Alarm type of a keypad unlock in Kwikset's / Yale's v1 tables (level = user slot).
const ALARM_KEYPAD_UNLOCK = 19;
const STATUS_ENABLED = 1;
const STATUS_AVAILABLE = 0;
const codeKey = (slot) => `UserCode_userCode_${slot}`;
const statusKey = (slot) => `UserCode_userIdStatus_${slot}`;

// The driver pulls notification state during the interview (the node has no
// Association CC, so it counts as a "pull" node); answer with "idle".
const respondToNotificationGet = {
	handleCC(controller, self, receivedCC) {
		if (receivedCC instanceof NotificationCCGet) {
			const cc = new NotificationCCReport({
				nodeId: controller.ownNodeId,
				notificationType: receivedCC.notificationType ?? ACCESS_CONTROL,
				notificationEvent: 0,
				notificationStatus: 0xff,
			});
			return { action: "sendCC", cc };
		}
		return undefined;
	},
};

// Fault injection, switched over the control channel.
const faults = { rejectCodeSets: false, unreachable: false, refuseDuplicates: false };
// Access Control: "New user code not added due to duplicate code".
const DUPLICATE_CODE = 0x0f;

// With rejectCodeSets the node acknowledges a User Code Set but does not store it
// (like a lock refusing a duplicate code); the driver's verification Get then reads
// the old slot contents back.
const rejectUserCodeSet = {
	handleCC(controller, self, receivedCC) {
		if (faults.rejectCodeSets && receivedCC instanceof UserCodeCCSet) {
			return { action: "stop" };
		}
		return undefined;
	},
};

// With refuseDuplicates the node refuses a code that another slot holds, as real
// locks do: it keeps the slot as it was and reports Access Control event 15.
const refuseDuplicateUserCode = {
	handleCC(controller, self, receivedCC) {
		if (!faults.refuseDuplicates || !(receivedCC instanceof UserCodeCCSet)) {
			return undefined;
		}
		const code = codeToString(receivedCC.userCode);
		for (let slot = 1; slot <= numUsers; slot++) {
			if (
				slot !== receivedCC.userId &&
				(self.state.get(statusKey(slot)) ?? STATUS_AVAILABLE) !== STATUS_AVAILABLE &&
				codeToString(self.state.get(codeKey(slot))) === code
			) {
				notify(self, controller, ACCESS_CONTROL, DUPLICATE_CODE, []).catch(() => undefined);
				return { action: "stop" };
			}
		}
		return undefined;
	},
};

const config = {
	nodes: [
		{
			id: NODE_ID,
			capabilities: {
				manufacturerId: 0xffff,
				productType: 0x0001,
				productId: 0x0001,
				genericDeviceClass: 0x40, // Entry Control
				specificDeviceClass: 0x03, // Secure Keypad Door Lock
				commandClasses: [
					CommandClasses.Version,
					CommandClasses["Manufacturer Specific"],
					{ ccId: CommandClasses["Door Lock"], version: 4 },
					{ ccId: CommandClasses["User Code"], version: 1, numUsers },
					{
						ccId: CommandClasses.Notification,
						version: 8,
						supportsV1Alarm: false,
						notificationTypesAndEvents: { [ACCESS_CONTROL]: [1, 2, 5, 6, DUPLICATE_CODE] },
					},
				],
			},
			behaviors: [respondToNotificationGet, rejectUserCodeSet, refuseDuplicateUserCode],
		},
	],
};

function codeToString(code) {
	if (code === undefined || code === null) return "";
	if (typeof code === "string") return code;
	return Buffer.from(code).toString("ascii");
}

function lockNode(server) {
	return server.mockNodes.find((n) => n.id === NODE_ID);
}

function readCodes(node) {
	const result = {};
	for (let slot = 1; slot <= numUsers; slot++) {
		const status = node.state.get(statusKey(slot)) ?? STATUS_AVAILABLE;
		const code = codeToString(node.state.get(codeKey(slot)));
		if (status !== STATUS_AVAILABLE || code) result[slot] = { status, code };
	}
	return result;
}

function checkSlot(slot) {
	if (!Number.isInteger(slot) || slot < 1 || slot > numUsers) {
		throw new Error(`slot must be an integer in 1..${numUsers}`);
	}
}

function seedCode(node, slot, code, status = STATUS_ENABLED) {
	checkSlot(slot);
	if (typeof code !== "string" || code.length < 4 || code.length > 10) {
		throw new Error("code must be a string of 4..10 characters");
	}
	node.state.set(statusKey(slot), status);
	node.state.set(codeKey(slot), code);
}

async function notify(node, controller, type, event, params) {
	const cc = new NotificationCCReport({
		nodeId: controller.ownNodeId,
		notificationType: type,
		notificationEvent: event,
		eventParameters: params && params.length ? Uint8Array.from(params) : undefined,
	});
	await node.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));
}

// A Notification report with the (v1) Alarm Type / Alarm Level bytes set. Alone it is
// the 2-byte v1 Alarm report; with a notification the driver's serializer would zero
// the alarm bytes, so they are patched into the serialized command (CC id, command,
// then alarmType, alarmLevel, ...), as a lock filling in both would send it.
async function alarm(node, controller, alarmType, alarmLevel, notification) {
	const cc = notification
		? new NotificationCCReport({
				nodeId: controller.ownNodeId,
				notificationType: notification.type,
				notificationEvent: notification.event,
				eventParameters: Uint8Array.from(notification.params),
			})
		: new NotificationCCReport({ nodeId: controller.ownNodeId, alarmType, alarmLevel });
	if (notification) {
		const serialize = cc.serialize.bind(cc);
		cc.serialize = async (ctx) => {
			const data = await serialize(ctx);
			data[2] = alarmType;
			data[3] = alarmLevel;
			return data;
		};
	}
	await node.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));
}

async function handle(server, request) {
	const node = lockNode(server);
	switch (request.cmd) {
		case "ping":
			return "pong";
		case "read_codes":
			return readCodes(node);
		case "seed_code":
			seedCode(node, request.slot, request.code, request.status ?? STATUS_ENABLED);
			return readCodes(node);
		case "clear_code":
			checkSlot(request.slot);
			node.state.set(statusKey(request.slot), STATUS_AVAILABLE);
			node.state.set(codeKey(request.slot), undefined);
			return readCodes(node);
		case "set_reachable":
			faults.unreachable = !request.reachable;
			return faults;
		case "reject_code_sets":
			faults.rejectCodeSets = Boolean(request.enabled);
			return faults;
		case "refuse_duplicates":
			faults.refuseDuplicates = Boolean(request.enabled);
			return faults;
		case "keypad_unlock":
			checkSlot(request.slot);
			await notify(node, server.mockController, ACCESS_CONTROL, KEYPAD_UNLOCK, [
				request.slot,
			]);
			return null;
		case "alarm_keypad_unlock":
			checkSlot(request.slot);
			await alarm(
				node,
				server.mockController,
				ALARM_KEYPAD_UNLOCK,
				request.slot,
				request.with_notification
					? { type: ACCESS_CONTROL, event: KEYPAD_UNLOCK, params: [request.slot] }
					: undefined,
			);
			return null;
		case "alarm":
			await alarm(node, server.mockController, request.type, request.level);
			return null;
		case "notify":
			await notify(
				node,
				server.mockController,
				request.type,
				request.event,
				request.params ?? [],
			);
			return null;
		default:
			throw new Error(`unknown command ${JSON.stringify(request.cmd)}`);
	}
}

function startControl(server) {
	const control = realCreateServer.call(net, (socket) => {
		let buffered = "";
		socket.setEncoding("utf8");
		socket.on("data", (data) => {
			buffered += data;
			let newline;
			while ((newline = buffered.indexOf("\n")) !== -1) {
				const line = buffered.slice(0, newline).trim();
				buffered = buffered.slice(newline + 1);
				if (!line) continue;
				let request;
				try {
					request = JSON.parse(line);
				} catch (e) {
					socket.write(`${JSON.stringify({ ok: false, error: String(e) })}\n`);
					continue;
				}
				handle(server, request).then(
					(result) =>
						socket.write(`${JSON.stringify({ id: request.id, ok: true, result })}\n`),
					(e) =>
						socket.write(
							`${JSON.stringify({ id: request.id, ok: false, error: e?.message ?? String(e) })}\n`,
						),
				);
			}
		});
		socket.on("error", () => undefined);
	});
	return new Promise((resolve, reject) => {
		control.once("error", reject);
		control.listen({ host: "127.0.0.1", port: 0 }, () => resolve(control));
	});
}

// A host killed while the controller waits for its ACK leaves that wait to time
// out with nobody to answer; a real controller just drops the message.
process.on("unhandledRejection", (e) => {
	console.log(`Dropped after the host left: ${e?.message ?? String(e)}`);
});

(async () => {
	const server = new MockServer({ interface: "127.0.0.1", port: 0, config });
	await server.start();
	mockController = server.mockController;
	const node = lockNode(server);
	// With unreachable set the node neither ACKs nor handles anything the controller
	// sends, as if it were out of radio range.
	const onControllerFrame = node.onControllerFrame.bind(node);
	node.onControllerFrame = async (frame) => {
		if (faults.unreachable) return;
		return onControllerFrame(frame);
	};
	for (const [slot, code] of Object.entries(initialCodes)) {
		seedCode(node, Number.parseInt(slot, 10), code);
	}
	// MockServer.start() returns before its TCP server listens.
	if (!server.server.listening) {
		await new Promise((resolve, reject) => {
			server.server.once("listening", resolve);
			server.server.once("error", reject);
		});
	}
	const zwavePort = server.server.address().port;
	const control = await startControl(server);
	const ready = {
		zwavePort,
		controlPort: control.address().port,
		nodeId: NODE_ID,
		homeId: server.mockController.homeId,
	};
	if (readyFile) {
		fs.writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready));
		fs.renameSync(`${readyFile}.tmp`, readyFile);
	}
	console.log(`MOCK_LOCK_READY ${JSON.stringify(ready)}`);

	const shutdown = async () => {
		control.close();
		await server.stop().catch(() => undefined);
		process.exit(0);
	};
	process.on("SIGTERM", shutdown);
	process.on("SIGINT", shutdown);
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
