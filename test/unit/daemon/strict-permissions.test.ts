/**
 * The permission policy the netmgr commands read unit directories with (readUnits, loadDaemonConfig in
 * src/daemon/config.ts), over real files: on for root unless a netmgrd.conf that passes the check says
 * strict-permissions = false; a netmgrd.conf that fails it is untrusted and one more error; off for other users.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadDaemonConfig, readUnits } from '../../../src/daemon/config';
import { isRoot } from '../../helpers/sys';

(isRoot() ? describe : describe.skip)('readUnits and netmgrd.conf (as root)', () => {
  let units: string;
  const unit = () => path.join(units, 'br0.toml');
  const conf = () => path.join(units, 'netmgrd.conf');
  const messages = (asRoot = true) =>
    readUnits(units, asRoot).errors.map((e) => `${path.basename(e.file)}: ${e.message}`);

  beforeEach(() => {
    units = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-policy-'));
    fs.writeFileSync(unit(), '[unit]\ntype = "bridge"\n');
    fs.chmodSync(unit(), 0o666);
  });
  afterEach(() => fs.rmSync(units, { recursive: true, force: true }));

  test('without netmgrd.conf the check is on', () => {
    expect(messages()).toEqual(['br0.toml: unit file is writable by group and others (mode 0666)']);
  });

  test('strict-permissions = false in a netmgrd.conf of root 0644 turns it off', () => {
    fs.writeFileSync(conf(), 'strict-permissions = false\n');
    expect(messages()).toEqual([]);
    expect(readUnits(units).state?.bridges.has('br0')).toBe(true);
  });

  test('strict-permissions = false in a netmgrd.conf others may write is not believed, and is an error itself', () => {
    fs.writeFileSync(conf(), 'strict-permissions = false\n');
    fs.chmodSync(conf(), 0o646);
    expect(messages()).toEqual([
      'br0.toml: unit file is writable by group and others (mode 0666)',
      'netmgrd.conf: netmgrd.conf is writable by others (mode 0646)',
    ]);
    const r = loadDaemonConfig(units, true);
    expect({ config: r.config, untrusted: r.untrusted }).toEqual({ config: null, untrusted: true });
    expect(r.errors[0].hint).toBe(`chmod go-w ${conf()}`);
    // Not checked, the same file is read as it says.
    expect(loadDaemonConfig(units, false).config?.strictPermissions).toBe(false);
  });

  test('a netmgrd.conf in a unit directory that fails is untrusted; the directory is reported once', () => {
    fs.writeFileSync(conf(), 'strict-permissions = false\n');
    fs.chmodSync(units, 0o770);
    expect(loadDaemonConfig(units, true).untrusted).toBe(true);
    expect(messages()).toEqual([
      `${path.basename(units)}: unit directory is writable by group (mode 0770)`,
      'br0.toml: unit file is writable by group and others (mode 0666)',
    ]);
  });

  test('a netmgrd.conf that does not parse leaves the check on', () => {
    fs.writeFileSync(conf(), 'strict-permissions = "no"\n');
    expect(messages()).toEqual(['br0.toml: unit file is writable by group and others (mode 0666)']);
  });

  test('for a user other than root nothing is checked', () => {
    fs.chownSync(unit(), 65534, 65534);
    expect(messages(false)).toEqual([]);
  });
});
