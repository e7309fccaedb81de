#!/usr/bin/env node
// Diffs pairs of CloudFormation templates with the CDK's own engine (@aws-cdk/cloudformation-diff,
// pinned in package.json) and prints the result as JSON for ops/diff/engine.py to read.
//
// stdin:  [{"stack": "Staging-iris", "old": {template} | null, "new": {template} | null}, ...]
// stdout: [{"stack", "resources": [{logicalId, type, impact, path, properties: [{name, impact}]}],
//           "iam": {"statements": [[...]], "managedPolicies": [[...]], "broadened": bool},
//           "securityGroups": bool, "text": "<cdk diff output>", "securityText": "..."}]
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

function main() {
  const input = require('fs').readFileSync(0, 'utf8');
  const pairs = JSON.parse(input);
  process.stdout.write(JSON.stringify(pairs.map(diffOne)));
}

main();
