/**
 * A jest reporter that ends the run with what it did not run and why, so that no test is skipped silently:
 * run as a user other than root, the tests that need root (and any whose tool is missing, titled
 * "<command> is missing: apt-get install <package>" by haveTool in sys.ts) are counted and named by file; as root,
 * every skipped test is listed.
 */
class NotRunReporter {
  onRunComplete(_contexts, results) {
    const notRun = [];
    for (const file of results.testResults) {
      for (const t of file.testResults)
        if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo')
          notRun.push({ file: file.testFilePath, title: t.fullName });
    }
    if (notRun.length === 0) return;
    const rel = (f) => require('path').relative(process.cwd(), f);
    const missingTool = notRun.filter((t) => / is missing: apt-get install /.test(t.title));
    const others = notRun.filter((t) => !missingTool.includes(t));
    const lines = [];
    if (process.getuid?.() !== 0) {
      const byFile = new Map();
      for (const t of others) byFile.set(rel(t.file), (byFile.get(rel(t.file)) ?? 0) + 1);
      lines.push(`${others.length} tests need root and were not run (run the tests as root to run them):`);
      for (const [f, n] of [...byFile].sort()) lines.push(`  ${n}\t${f}`);
    } else {
      lines.push(`${others.length} tests were skipped:`);
      for (const t of others) lines.push(`  ${rel(t.file)}: ${t.title}`);
    }
    if (missingTool.length) {
      lines.push(`${missingTool.length} tools are missing, their tests were not run:`);
      for (const t of missingTool) lines.push(`  ${rel(t.file)}: ${t.title}`);
    }
    process.stderr.write(`\n${lines.join('\n')}\n`);
  }
}
module.exports = NotRunReporter;
