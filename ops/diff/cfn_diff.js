#!/usr/bin/env node
// Diffs pairs of CloudFormation templates with the CDK's own engine (@aws-cdk/cloudformation-diff,
// pinned in package.json) and prints the result as JSON for ops/diff/engine.py to read.
//
// One request per line of stdin, one answer per line of stdout, until stdin closes:
// request: [{"stack": "Staging-iris", "old": {template} | null, "new": {template} | null}, ...]
// answer:  {"results": [{"stack", "resources": [{logicalId, type, impact, path, properties: [...]}],
//           "iam": {"statements": [[...]], "managedPolicies": [[...]], "broadened": bool},
//           "securityGroups": bool, "text": "<cdk diff output>", "securityText": "..."}]}
//          or {"error": "<what went wrong>"}, and the process goes on to the next request.
// The engine loads the CloudFormation resource specification once, at its first diff (about a
// CPU-second), so a process that diffs many times keeps one of these running (engine.py).
// No credentials, no network: the old template stands for what is deployed.
'use strict';

const { fullDiff, formatDifferences, formatSecurityChanges } = require('@aws-cdk/cloudformation-diff');

class Collect {
  constructor() {
    this.chunks = [];
    this.columns = 120;
  }
  write(chunk) {
    this.chunks.push(String(chunk));
    return true;
  }
  text() {
    // chalk colours are off without a TTY; strip any that a FORCE_COLOR leaked in.
    return this.chunks.join('').replace(/\u001b\[[0-9;]*m/g, '');
  }
}

function emptyTemplate() {
  return { Resources: {} };
}

function diffOne({ stack, old: oldTemplate, new: newTemplate }) {
  const diff = fullDiff(oldTemplate || emptyTemplate(), newTemplate || emptyTemplate());
  const resources = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const source = change.newValue || change.oldValue || {};
    const properties = [];
    for (const [name, property] of Object.entries(change.propertyUpdates)) {
      properties.push({ name, impact: property.changeImpact || 'WILL_UPDATE' });
    }
    for (const name of Object.keys(change.otherChanges)) {
      properties.push({ name, impact: 'NO_CHANGE', other: true });
    }
    resources.push({
      logicalId,
      type: change.resourceType || source.Type,
      impact: change.changeImpact,
      path: (source.Metadata || {})['aws:cdk:path'] || null,
      properties,
    });
  });
  const text = new Collect();
  const securityText = new Collect();
  if (!diff.isEmpty) {
    formatDifferences(text, diff);
  }
  if (diff.permissionsAnyChanges) {
    formatSecurityChanges(securityText, diff);
  }
  return {
    stack,
    empty: diff.isEmpty,
    resources,
    iam: {
      statements: diff.iamChanges.summarizeStatements(),
      managedPolicies: diff.iamChanges.summarizeManagedPolicies(),
      broadened: diff.permissionsBroadened,
      changed: diff.permissionsAnyChanges,
    },
    securityGroups: diff.securityGroupChanges.hasChanges,
    text: text.text(),
    securityText: securityText.text(),
  };
}

function answer(line) {
  try {
    return { results: JSON.parse(line).map(diffOne) };
  } catch (error) {
    return { error: String((error && error.stack) || error) };
  }
}

function main() {
  const lines = require('readline').createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    if (line.trim()) {
      process.stdout.write(JSON.stringify(answer(line)) + '\n');
    }
  });
}

main();
