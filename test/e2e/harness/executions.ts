// Reads executions back from n8n's own database: SQLite in regular mode (through the sqlite3 that
// the n8n cache built), PostgreSQL in queue mode. n8n stores the run data in the `flatted` format.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Client } from 'pg';

import * as runtime from '../../../scripts/lib/n8n-runtime';
import { POSTGRES } from './machine';

export type ExecutionStatus =
	| 'new'
	| 'running'
	| 'success'
	| 'error'
	| 'crashed'
	| 'canceled'
	| 'waiting'
	| 'unknown';

/** One item as a node output it: `json` plus whatever else n8n keeps (binary, pairedItem). */
export interface ExecutionItem {
	json: Record<string, unknown>;
	pairedItem?: unknown;
	[key: string]: unknown;
}

/** One run of one node inside an execution. */
export interface NodeRun {
	startTime?: number;
	executionTime?: number;
	executionStatus?: string;
	error?: { message?: string; description?: string; [key: string]: unknown };
	data?: { main?: Array<ExecutionItem[] | null> };
	[key: string]: unknown;
}

/** The parts of n8n's IRunExecutionData that tests read; `raw` has all of it. */
export interface RunData {
	resultData: {
		runData: Record<string, NodeRun[]>;
		lastNodeExecuted?: string;
		error?: { message?: string; [key: string]: unknown };
	};
	[key: string]: unknown;
}

export interface Execution {
	id: string;
	workflowId: string;
	status: ExecutionStatus;
	mode: string;
	finished: boolean;
	startedAt: Date | null;
	stoppedAt: Date | null;
	/** The parsed run data, or undefined when n8n did not save it (see EXECUTIONS_DATA_SAVE_*). */
	data: RunData | undefined;
	/** Queue mode: the worker whose log says it ran this execution (e.g. 'worker-1'). */
	ranOn?: string;
}

interface Row {
	id: number | string;
	workflowId: string;
	status: string;
	mode: string;
	finished: number | boolean;
	startedAt: string | Date | null;
	stoppedAt: string | Date | null;
	data: string | null;
}

export interface ExecutionReader {
	/** Executions in id order, optionally only those of one workflow. */
	list(filter?: { workflowId?: string }): Promise<Execution[]>;
	close(): Promise<void>;
}

const n8nRequire = createRequire(path.join(runtime.n8nModulesDir(), 'n8n', 'package.json'));
// flatted is a dependency of n8n, so it is resolved from n8n's own tree, the format n8n wrote.
const flatted = n8nRequire('flatted') as { parse: (text: string) => unknown };

function toDate(value: string | Date | null): Date | null {
	if (value === null || value === undefined) return null;
	if (value instanceof Date) return value;
	// SQLite stores UTC without a zone marker.
	return new Date(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
}

function toExecution(row: Row): Execution {
	return {
		id: String(row.id),
		workflowId: row.workflowId,
		status: row.status as ExecutionStatus,
		mode: row.mode,
		finished: row.finished === true || row.finished === 1,
		startedAt: toDate(row.startedAt),
		stoppedAt: toDate(row.stoppedAt),
		data: row.data ? (flatted.parse(row.data) as RunData) : undefined,
	};
}

const COLUMNS =
	'e."id", e."workflowId", e."status", e."mode", e."finished", e."startedAt", e."stoppedAt", d."data"';

interface SqliteDatabase {
	all(sql: string, params: unknown[], callback: (error: Error | null, rows: Row[]) => void): void;
	close(callback: (error: Error | null) => void): void;
	configure(option: 'busyTimeout', value: number): void;
}

/**
 * A reader for the SQLite file of a regular-mode instance; opened read-only per query, so it never
 * holds a lock n8n is waiting for.
 * @returns {ExecutionReader}
 */
export function sqliteReader(file: string): ExecutionReader {
	const sqlite3 = n8nRequire('sqlite3') as {
		OPEN_READONLY: number;
		Database: new (
			file: string,
			mode: number,
			callback: (error: Error | null) => void,
		) => SqliteDatabase;
	};
	return {
		async list(filter = {}) {
			const db = await new Promise<SqliteDatabase>((resolve, reject) => {
				const opened: SqliteDatabase = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) =>
					error ? reject(error) : resolve(opened),
				);
			});
			db.configure('busyTimeout', 5000);
			try {
				const where = filter.workflowId ? 'WHERE e."workflowId" = ?' : '';
				const rows = await new Promise<Row[]>((resolve, reject) =>
					db.all(
						`SELECT ${COLUMNS} FROM execution_entity e LEFT JOIN execution_data d ` +
							`ON d."executionId" = e."id" ${where} ORDER BY e."id"`,
						filter.workflowId ? [filter.workflowId] : [],
						(error, result) => (error ? reject(error) : resolve(result)),
					),
				);
				return rows.map(toExecution);
			} finally {
				await new Promise<void>((resolve) => db.close(() => resolve()));
			}
		},
		async close() {},
	};
}

/**
 * A reader for the PostgreSQL database of a queue-mode instance.
 * @returns {ExecutionReader}
 */
export function postgresReader(database: string): ExecutionReader {
	let client: Client | undefined;
	return {
		async list(filter = {}) {
			if (!client) {
				client = new Client({ ...POSTGRES, database });
				await client.connect();
			}
			const where = filter.workflowId ? 'WHERE e."workflowId" = $1' : '';
			const result = await client.query<Row>(
				`SELECT ${COLUMNS} FROM execution_entity e LEFT JOIN execution_data d ` +
					`ON d."executionId" = e."id" ${where} ORDER BY e."id"`,
				filter.workflowId ? [filter.workflowId] : [],
			);
			return result.rows.map(toExecution);
		},
		async close() {
			await client?.end().catch(() => undefined);
			client = undefined;
		},
	};
}

/**
 * The items a node output in one of its runs.
 * @returns {ExecutionItem[]} empty when the node did not run or output nothing there; never throws
 */
export function nodeOutput(
	execution: Execution,
	nodeName: string,
	{ run = 0, output = 0 }: { run?: number; output?: number } = {},
): ExecutionItem[] {
	return execution.data?.resultData.runData[nodeName]?.[run]?.data?.main?.[output] ?? [];
}

/** @returns {string[]} the names of the nodes that ran, in the order n8n recorded them */
export function nodesThatRan(execution: Execution): string[] {
	return Object.keys(execution.data?.resultData.runData ?? {});
}
