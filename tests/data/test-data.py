#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The data suite's checks of the desktop data and the packaging files.

usage: test-data.py CHECK [ARGS]
  desktop FILE          desktop-file-validate on the built .desktop file
  metainfo FILE         appstreamcli validate --no-net, plus launchable, releases,
                        content rating, provides and merged translations
  screenshots FILE      every screenshot URL is a PNG in data/screenshots
  schemas               glib-compile-schemas --strict --dry-run data/
  icons APP_ID          the scalable, .Devel and symbolic icons are sane SVGs
  flatpak-manifest      the Flatpak manifest's structure and the decisions it encodes
  flatpak-builder       flatpak-builder --show-manifest reads the manifest
  msys2                 the MSYS2 recipe, install script and bundle script parse
  workflow              the Windows workflow is valid YAML doing what it must
  install BUILDDIR      meson install --destdir into a temp dir: every file lands
                        and the installed programs start

A missing tool is a skip (exit 77) that names the Debian package.
"""

import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.environ.get('CHRONOS_SOURCE_ROOT') or os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..'))
BASE_ID = 'org.chronos.Chronos'
SCREENSHOT_PREFIX = 'https://raw.githubusercontent.com/chronos-project/chronos/main/data/screenshots/'

failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg)


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def need(tool, package):
    path = shutil.which(tool)
    if path is None:
        skip(f'{tool} is not installed (Debian package {package})')
    return path


def run(argv, **kw):
    print('$ ' + ' '.join(argv))
    out = subprocess.run(argv, capture_output=True, text=True, **kw)
    if out.stdout.strip():
        print(out.stdout.rstrip())
    if out.stderr.strip():
        print(out.stderr.rstrip())
    return out


def check_desktop(path):
    tool = need('desktop-file-validate', 'desktop-file-utils')
    out = run([tool, path])
    if out.returncode != 0 or 'error:' in out.stdout + out.stderr:
        fail('desktop-file-validate rejected ' + path)
    keys = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            if '=' in line and not line.startswith('#'):
                k, v = line.rstrip('\n').split('=', 1)
                keys[k] = v
    app_id = os.path.basename(path)[:-len('.desktop')]
    if keys.get('Icon') != app_id:
        fail(f'Icon={keys.get("Icon")} is not the app id {app_id}')
    if not keys.get('Exec', '').startswith('chronos '):
        fail('Exec does not start the chronos binary')
    if 'application/x-vhdx-disk' not in keys.get('MimeType', ''):
        fail('MimeType does not offer VHDX images (application/x-vhdx-disk)')
    if not any(k.startswith('Name[') for k in keys):
        fail('no translated Name: the translations were not merged in')


def check_metainfo(path):
    tool = need('appstreamcli', 'appstream')
    out = run([tool, 'validate', '--no-net', '--pedantic', path])
    if out.returncode != 0:
        fail('appstreamcli validate rejected ' + path)
    app_id = os.path.basename(path)[:-len('.metainfo.xml')]
    tree = ET.parse(path).getroot()
    if tree.findtext('id') != app_id:
        fail(f'<id> is {tree.findtext("id")}, not {app_id}')
    launch = tree.find('launchable')
    if launch is None or launch.text != app_id + '.desktop':
        fail('<launchable> does not name the desktop file')
    if tree.find('content_rating[@type="oars-1.1"]') is None:
        fail('no OARS 1.1 content rating')
    binaries = {b.text for b in tree.findall('provides/binary')}
    if binaries != {'chronos', 'chronos-vm'}:
        fail(f'<provides> binaries are {sorted(binaries)}')
    versions = [r.get('version') for r in tree.findall('releases/release')]
    if not versions:
        fail('no <release>')
    else:
        project_version = os.environ.get('CHRONOS_VERSION')
        if project_version and versions[0] != project_version:
            fail(f'newest <release> is {versions[0]}, meson says {project_version}')
    if not any(e.get('{http://www.w3.org/XML/1998/namespace}lang') == 'de'
               for e in tree.iter('summary')):
        fail('no German <summary>: the translations were not merged in')
    if not tree.findall('screenshots/screenshot/image'):
        fail('no screenshots')


def check_screenshots(path):
    tree = ET.parse(path).getroot()
    images = tree.findall('screenshots/screenshot/image')
    if not images:
        fail('no screenshots')
    for image in images:
        url = image.text or ''
        if not url.startswith(SCREENSHOT_PREFIX):
            fail(f'screenshot {url} is not served from data/screenshots')
            continue
        name = url[len(SCREENSHOT_PREFIX):]
        png = os.path.join(ROOT, 'data', 'screenshots', name)
        if not os.path.isfile(png):
            fail(f'screenshot data/screenshots/{name} does not exist '
                 '(data/screenshots/take-screenshots.sh makes it from the real app)')
            continue
        with open(png, 'rb') as f:
            head = f.read(24)
        if head[:8] != b'\x89PNG\r\n\x1a\n':
            fail(f'data/screenshots/{name} is not a PNG')
            continue
        width, height = struct.unpack('>II', head[16:24])
        # Software centres show 16:9-ish images; 620 px is GNOME Software's minimum.
        if width < 620 or height < 350:
            fail(f'data/screenshots/{name} is only {width}x{height}')
        print(f'screenshot {name}: {width}x{height}')


def check_schemas():
    tool = need('glib-compile-schemas', 'libglib2.0-bin')
    schemas = glob.glob(os.path.join(ROOT, 'data', '*.gschema.xml'))
    if not schemas:
        fail('data/ has no GSettings schema (*.gschema.xml)')
        return
    out = run([tool, '--strict', '--dry-run', os.path.join(ROOT, 'data')])
    if out.returncode != 0:
        fail('glib-compile-schemas --strict rejected the schema')
    for schema in schemas:
        root = ET.parse(schema).getroot()
        for s in root.findall('schema'):
            sid = s.get('id', '')
            if not sid.startswith(BASE_ID):
                fail(f'schema id {sid} is not under {BASE_ID}')
            if s.get('path') and not s.get('path').startswith('/org/chronos/Chronos/'):
                fail(f'schema path {s.get("path")} is not under /org/chronos/Chronos/')


def svg_root(path):
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        fail(f'{path}: {e}')
        return None
    if root.tag != '{http://www.w3.org/2000/svg}svg':
        fail(f'{path}: not an SVG document')
        return None
    return root


def check_icons(app_id):
    icons = os.path.join(ROOT, 'data', 'icons', 'hicolor')
    for ident in (BASE_ID, BASE_ID + '.Devel'):
        path = os.path.join(icons, 'scalable', 'apps', ident + '.svg')
        root = svg_root(path)
        if root is not None and root.get('viewBox') != '0 0 128 128':
            fail(f'{path}: the app icon grid is 128x128, viewBox is {root.get("viewBox")}')
    if not os.path.exists(os.path.join(icons, 'scalable', 'apps', app_id + '.svg')):
        fail(f'no scalable icon for the configured app id {app_id}')
    sym = os.path.join(icons, 'symbolic', 'apps', BASE_ID + '-symbolic.svg')
    root = svg_root(sym)
    if root is not None:
        if root.get('viewBox') != '0 0 16 16':
            fail(f'{sym}: symbolic icons are 16x16')
        colours = set()
        for el in root.iter():
            for attr in ('fill', 'stroke'):
                v = el.get(attr)
                if v and v != 'none':
                    colours.add(v.lower())
            if el.tag.endswith('linearGradient') or el.tag.endswith('radialGradient'):
                fail(f'{sym}: a symbolic icon has no gradients')
        if len(colours) > 1:
            fail(f'{sym}: a symbolic icon is one colour, found {sorted(colours)}')
    rsvg = shutil.which('rsvg-convert')
    if rsvg:
        for path in glob.glob(os.path.join(icons, '*', 'apps', '*.svg')):
            out = subprocess.run([rsvg, '-w', '64', path], capture_output=True)
            if out.returncode != 0 or not out.stdout.startswith(b'\x89PNG'):
                fail(f'{path}: librsvg cannot render it: {out.stderr.decode()}')
    else:
        print('note: rsvg-convert (librsvg2-bin) missing, icons not rendered')


def flatpak_manifest():
    path = os.path.join(ROOT, 'build-aux', 'flatpak', BASE_ID + '.Devel.json')
    with open(path, encoding='utf-8') as f:
        try:
            return path, json.load(f)
        except json.JSONDecodeError as e:
            fail(f'{path} is not JSON: {e}')
            return path, None


def check_flatpak_manifest():
    path, m = flatpak_manifest()
    if m is None:
        return
    if m.get('app-id', m.get('id')) != BASE_ID + '.Devel':
        fail('the manifest builds ' + str(m.get('app-id')))
    if m.get('runtime') != 'org.gnome.Platform' or m.get('sdk') != 'org.gnome.Sdk':
        fail('the manifest is not on the GNOME runtime')
    if m.get('command') != 'chronos':
        fail('the manifest does not run chronos')
    args = m.get('finish-args', [])
    for want in ('--device=kvm', '--socket=wayland', '--socket=fallback-x11', '--share=ipc'):
        if want not in args:
            fail(f'finish-args lack {want}')
    for bad in ('--filesystem=host', '--filesystem=home', '--device=all', '--socket=x11'):
        if bad in args:
            fail(f'finish-args must not grant {bad}: backups come through the file chooser portal')
    modules = {mod['name']: mod for mod in m.get('modules', []) if isinstance(mod, dict)}
    names = [mod.get('name') for mod in m.get('modules', []) if isinstance(mod, dict)]
    for want in ('libslirp', 'qemu', 'chronos'):
        if want not in modules:
            fail(f'module {want} is missing')
    if names and names[-1] != 'chronos':
        fail('chronos must be the last module')
    if names.index('libslirp') > names.index('qemu') if {'libslirp', 'qemu'} <= set(names) else False:
        fail('libslirp must be built before qemu')
    qemu = modules.get('qemu', {})
    opts = qemu.get('config-opts', [])
    for want in ('--target-list=x86_64-softmmu', '--enable-slirp', '--enable-kvm',
                 '--enable-tools', '--enable-install-blobs', '--enable-png'):
        if want not in opts:
            fail(f'qemu config-opts lack {want} (qemu-img, edk2 firmware, screendump PNG)')
    chronos = modules.get('chronos', {})
    if chronos.get('buildsystem') != 'meson':
        fail('chronos is not built with meson')
    for want in ('-Dtests=false', '-Ddevelopment=true'):
        if want not in chronos.get('config-opts', []):
            fail(f'chronos config-opts lack {want}')
    here = os.path.dirname(path)
    for mod in m.get('modules', []):
        for src in mod.get('sources', []):
            if 'url' in src and src.get('type') in ('archive', 'file'):
                if not re.fullmatch(r'[0-9a-f]{64}', src.get('sha256', '')):
                    fail(f'{mod["name"]}: {src["url"]} has no sha256')
                if not src['url'].startswith('https://'):
                    fail(f'{mod["name"]}: {src["url"]} is not HTTPS')
            if 'path' in src and not os.path.exists(os.path.join(here, src['path'])):
                fail(f'{mod["name"]}: local source {src["path"]} does not exist')
    print(f'{path}: {len(names)} modules: {", ".join(names)}')


def check_flatpak_builder():
    tool = need('flatpak-builder', 'flatpak-builder')
    path, m = flatpak_manifest()
    out = run([tool, '--show-manifest', path])
    if out.returncode != 0:
        fail('flatpak-builder cannot read the manifest')
        return
    shown = json.loads(out.stdout)
    if shown.get('id', shown.get('app-id')) != BASE_ID + '.Devel':
        fail('flatpak-builder reads another app id')
    if [mod.get('name') for mod in shown.get('modules', [])] != \
       [mod.get('name') for mod in m.get('modules', [])]:
        fail('flatpak-builder sees other modules than the JSON names')


def check_msys2():
    bash = need('bash', 'bash')
    d = os.path.join(ROOT, 'build-aux', 'msys2')
    for name in ('PKGBUILD', 'chronos.install', 'build-bundle.sh'):
        out = run([bash, '-n', os.path.join(d, name)])
        if out.returncode != 0:
            fail(f'build-aux/msys2/{name} does not parse')
    # makepkg sources the PKGBUILD with these set; print what it declares.
    script = r'''
set -e
MINGW_PACKAGE_PREFIX=mingw-w64-ucrt-x86_64
MINGW_PREFIX=/ucrt64
. ./PKGBUILD
printf 'pkgname=%s\n' "${pkgname[@]}"
printf 'pkgver=%s\n' "$pkgver"
printf 'install=%s\n' "$install"
printf 'depends=%s\n' "${depends[@]}"
printf 'makedepends=%s\n' "${makedepends[@]}"
printf 'source=%s\n' "${source[@]}"
for f in build check package; do declare -F "$f" >/dev/null && echo "function=$f"; done
'''
    out = subprocess.run([bash, '-c', script], cwd=d, capture_output=True, text=True)
    if out.returncode != 0:
        fail('the PKGBUILD cannot be sourced: ' + out.stderr)
        return
    decl = {}
    for line in out.stdout.splitlines():
        k, v = line.split('=', 1)
        decl.setdefault(k, []).append(v)
    print(out.stdout.rstrip())
    if decl.get('pkgname') != ['mingw-w64-ucrt-x86_64-chronos']:
        fail(f'pkgname is {decl.get("pkgname")}')
    with open(os.path.join(ROOT, 'meson.build'), encoding='utf-8') as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    if decl.get('pkgver') != [version]:
        fail(f'pkgver {decl.get("pkgver")} is not the project version {version}')
    for dep in ('gtk4', 'libadwaita', 'libsoup3', 'json-glib', 'libarchive', 'nettle',
                'glib-networking', 'gdk-pixbuf2'):
        if 'mingw-w64-ucrt-x86_64-' + dep not in decl.get('depends', []):
            fail(f'depends lacks {dep}')
    for dep in ('meson', 'ninja', 'pkgconf', 'gettext-tools', 'cc'):
        if 'mingw-w64-ucrt-x86_64-' + dep not in decl.get('makedepends', []):
            fail(f'makedepends lacks {dep}')
    if decl.get('install') != ['chronos.install']:
        fail('the PKGBUILD does not use chronos.install')
    for fn in ('build', 'check', 'package'):
        if fn not in decl.get('function', []):
            fail(f'the PKGBUILD has no {fn}()')
    with open(os.path.join(d, 'PKGBUILD'), encoding='utf-8') as f:
        text = f.read()
    if '--wrap-mode=nodownload' not in text:
        fail('the PKGBUILD lets meson download wraps')
    with open(os.path.join(d, 'chronos.install'), encoding='utf-8') as f:
        inst = f.read()
    if 'glib-compile-schemas' not in inst:
        fail('chronos.install does not compile the schemas')


def check_workflow():
    try:
        import yaml
    except ImportError:
        skip('python3-yaml is not installed (Debian package python3-yaml)')
    path = os.path.join(ROOT, '.github', 'workflows', 'windows.yml')
    with open(path, encoding='utf-8') as f:
        wf = yaml.safe_load(f)
    # YAML 1.1 reads a bare `on:` key as True.
    if not (wf.get('on') or wf.get(True)):
        fail('the workflow has no trigger')
    steps = [s for job in wf.get('jobs', {}).values() for s in job.get('steps', [])]
    uses = [s.get('uses', '') for s in steps]
    runs = '\n'.join(s.get('run', '') for s in steps)
    setup = [s for s in steps if s.get('uses', '').startswith('msys2/setup-msys2@')]
    if not setup:
        fail('the workflow does not use msys2/setup-msys2')
    elif setup[0].get('with', {}).get('msystem') != 'UCRT64':
        fail('msys2 is not set up for UCRT64')
    for want in ('meson setup', 'meson compile', '--suite core', 'build-bundle.sh'):
        if want not in runs:
            fail(f'the workflow does not run `{want}`')
    if not any(u.startswith('actions/upload-artifact@') for u in uses):
        fail('the workflow does not upload the bundle')
    shells = {job.get('defaults', {}).get('run', {}).get('shell')
              for job in wf.get('jobs', {}).values()}
    if 'msys2 {0}' not in shells:
        fail('the build steps do not run in the msys2 shell')
    print(f'{path}: {len(steps)} steps')


def check_install(builddir):
    meson = need('meson', 'meson')
    intro = subprocess.run([meson, 'introspect', '--buildoptions', builddir],
                           capture_output=True, text=True, check=True)
    opts = {o['name']: o['value'] for o in json.loads(intro.stdout)}
    prefix = opts['prefix']
    app = opts.get('app', True)
    app_id = BASE_ID + ('.Devel' if opts.get('development') else '')
    with tempfile.TemporaryDirectory(prefix='chronos-install-') as dest:
        out = run([meson, 'install', '-C', builddir, '--no-rebuild', '--destdir', dest,
                   '--quiet'])
        if out.returncode != 0:
            fail('meson install failed')
            return
        root = dest + prefix
        datadir = os.path.join(root, opts.get('datadir', 'share'))
        bindir = os.path.join(root, opts.get('bindir', 'bin'))
        expect = [os.path.join(bindir, 'chronos-vm'),
                  os.path.join(opts.get('localedir', 'share/locale'), 'de/LC_MESSAGES/chronos.mo')]
        if app:
            expect += [
                os.path.join(bindir, 'chronos'),
                os.path.join(datadir, 'applications', app_id + '.desktop'),
                os.path.join(datadir, 'metainfo', app_id + '.metainfo.xml'),
                os.path.join(datadir, 'icons/hicolor/scalable/apps', app_id + '.svg'),
                os.path.join(datadir, 'icons/hicolor/symbolic/apps', app_id + '-symbolic.svg'),
            ]
        for p in expect:
            full = p if os.path.isabs(p) else os.path.join(root, p)
            if not os.path.exists(full):
                fail('not installed: ' + os.path.relpath(full, dest))
        mo = os.path.join(root, opts.get('localedir', 'share/locale'), 'de/LC_MESSAGES/chronos.mo')
        msgunfmt = shutil.which('msgunfmt')
        if os.path.exists(mo) and msgunfmt:
            text = subprocess.run([msgunfmt, mo], capture_output=True, text=True).stdout
            translated = len(re.findall(r'^msgstr "[^"]', text, flags=re.M))
            print(f'de/LC_MESSAGES/chronos.mo: {translated} translated messages')
            if translated < 10:
                fail('the installed German catalogue is (nearly) empty')
        schemas = glob.glob(os.path.join(datadir, 'glib-2.0', 'schemas', BASE_ID + '*.gschema.xml'))
        if app and not schemas:
            fail('no GSettings schema installed in share/glib-2.0/schemas')
        for dirpath, _, files in os.walk(dest):
            for name in files:
                print('  ' + os.path.relpath(os.path.join(dirpath, name), dest))

        env = dict(os.environ)
        env['LANGUAGE'] = 'de'
        env['LANG'] = env['LC_ALL'] = 'C.UTF-8'
        cli = os.path.join(bindir, 'chronos-vm')
        if os.path.exists(cli):
            out = run([cli, '--help'], env=env)
            if out.returncode != 0:
                fail('the installed chronos-vm does not start')
        gui = os.path.join(bindir, 'chronos')
        if app and os.path.exists(gui):
            if schemas:
                schemadir = os.path.join(datadir, 'glib-2.0', 'schemas')
                run(['glib-compile-schemas', schemadir])
                env['GSETTINGS_SCHEMA_DIR'] = schemadir
            # --help is answered by GApplication before a display is needed.
            out = run([gui, '--help'], env=env)
            if out.returncode != 0:
                fail('the installed chronos does not start')


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    check, args = sys.argv[1], sys.argv[2:]
    table = {
        'desktop': lambda: check_desktop(args[0]),
        'metainfo': lambda: check_metainfo(args[0]),
        'screenshots': lambda: check_screenshots(args[0]),
        'schemas': check_schemas,
        'icons': lambda: check_icons(args[0]),
        'flatpak-manifest': check_flatpak_manifest,
        'flatpak-builder': check_flatpak_builder,
        'msys2': check_msys2,
        'workflow': check_workflow,
        'install': lambda: check_install(args[0]),
    }
    if check not in table:
        print(__doc__)
        return 2
    table[check]()
    if failures:
        print(f'{len(failures)} problem(s)')
        return 1
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
