// The real-n8n e2e harness; see README.md beside this file.
export {
	startN8n,
	stopAllN8n,
	type CredentialJson,
	type N8nInstance,
	type StartOptions,
	type WaitForExecutionsOptions,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n';
export {
	nodeOutput,
	nodesThatRan,
	type Execution,
	type ExecutionItem,
	type ExecutionStatus,
	type NodeRun,
	type RunData,
} from './executions';
export { N8nProcess } from './process';
export { getFreePort } from './machine';
export { newN8nId } from '../../../scripts/lib/n8n-runtime';
