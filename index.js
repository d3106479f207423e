// n8n discovers nodes and credentials through the "n8n" block of package.json, so the
// package entry point exports nothing of its own.
module.exports = {};
