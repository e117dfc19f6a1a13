/* 3D-Stadtmodell (gdi/publish/viewer3d.py): the buildings' 3D Tiles 1.1 with three.js and
 * 3d-tiles-renderer, both from this origin through the page's import map. They are loaded only
 * when the browser has WebGL 2; otherwise (or when they fail to load) the page shows its
 * notice, and the table and downloads below the viewer stay the way to the data.
 *
 * Scene frame: the tileset's root transform (east-north-up at the city centre -> ECEF) is
 * inverted and turned y-up, so the city sits at the origin with x east, y up, z south.
 * window.__viewer reports the state for the browser tests (tests/test_issue_15_viewer.py).
 */

const config = JSON.parse(document.getElementById('viewer-config').textContent);
const $ = (id) => document.getElementById(id);

const state = {
  webgl: false, ready: false, error: null, variant: null, tilesLoaded: 0, loaded: {},
  loadErrors: [], idle: false, frames: 0, camera: null, groundY: null, picked: null,
  colours: config.colours, screenOf: null, pickAt: null,
};
window.__viewer = state;

// labels of the property table's columns (gdi.city3d.tiles3d.SCHEMA: German, English);
// other columns show their own name
const LABELS = {
  id: ['Objektkennung', 'id'],
  function: ['Gebäudefunktion', 'function'],
  roof_type: ['Dachform', 'roof type'],
  height_lod12: ['Gebäudehöhe LoD1.2', 'height LoD1.2'],
  ground_height: ['Geländehöhe (DHHN2016)', 'ground height'],
  storeys: ['Geschosse oberirdisch', 'storeys above ground'],
  status: ['Status', 'status'],
  lod: ['Detailstufe', 'level of detail'],
  begin: ['Im Modell seit', 'in the model since'],
};
const METRES = new Set(['height_lod12', 'ground_height']);
const VALUES = {
  status: { existing: 'Bestand (existing)', planned: 'geplant (planned)' },
  lod: { 2: 'LoD2', 1.2: 'LoD1.2' },
  ...(config.names || {}),
};
const ID_KEYS = ['id'];

function hasWebGL2() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const lose = gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    return true;
  } catch (err) {
    return false;
  }
}

function unavailable(reason) {
  state.error = reason;
  $('viewer').hidden = true;
  $('auswahl-bereich').hidden = true;
  if (reason !== 'webgl') {
    $('kein-3d-grund').textContent = '(die 3D-Ansicht konnte nicht geladen werden)';
  }
  $('kein-3d').hidden = false;
}

function idOf(row) {
  for (const key of ID_KEYS) {
    if (row && row[key] !== undefined && row[key] !== null) return String(row[key]);
  }
  return null;
}

function formatValue(key, value) {
  if (value === null || value === undefined || value === '') return 'keine Angabe (none)';
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return Array.from(value, (v) => formatValue(key, v)).join(', ');
  }
  const names = VALUES[key];
  if (names && names[String(value)] !== undefined) {
    const name = names[String(value)];
    return key === 'status' || key === 'lod' ? name : `${name} (${value})`;
  }
  if (key === 'begin' && !Number.isNaN(Date.parse(value))) {
    return new Date(value).toLocaleDateString('de-DE', {
      timeZone: 'UTC', day: '2-digit', month: '2-digit', year: 'numeric',
    });
  }
  if (typeof value === 'number') {
    const text = value.toLocaleString('de-DE', { maximumFractionDigits: 2 });
    return METRES.has(key) ? `${text} m` : text;
  }
  return String(value);
}

// 3d-tiles-renderer replaces a property's noData value by its default (0, ''), so a missing
// storey count would read 0: read the raw values, compare them with the schema's noData
function keepNoData(metadata) {
  const noData = {};
  for (const table of metadata.tableAccessors || []) {
    for (const [key, prop] of Object.entries(table.properties || {})) {
      if (prop && prop.noData !== null && prop.noData !== undefined && prop.default === null) {
        prop.rawNoData = prop.noData;
        prop.noData = null;
      }
      if (prop && prop.rawNoData !== undefined) noData[key] = prop.rawNoData;
    }
  }
  return noData;
}

function rowOf(v, metadata, fid) {
  const row = metadata.getPropertyTableData(v.table, fid);
  for (const [key, value] of Object.entries(row)) {
    if (key in v.noData && value === v.noData[key]) row[key] = null;
  }
  return row;
}

async function start() {
  const THREE = await import('three');
  const { OrbitControls } = await import('three/addons/controls/OrbitControls.js');
  const { TilesRenderer } = await import('3d-tiles-renderer');
  const { GLTFExtensionsPlugin } = await import('3d-tiles-renderer/plugins');
  const { Vector3 } = THREE;

  const C = {};
  for (const [key, hex] of Object.entries(config.colours)) C[key] = new THREE.Color(hex);

  const canvas = $('szene');
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const scene = new THREE.Scene();
  scene.background = C.background;
  scene.add(new THREE.HemisphereLight(0xffffff, 0x9a9a9a, 1.4));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(-0.35, 1.0, 0.75); // from the south-south-west: the walls in view differ
  scene.add(sun);

  const ground = new THREE.Mesh(
    new THREE.PlaneGeometry(1, 1),
    new THREE.MeshBasicMaterial({
      color: C.ground, polygonOffset: true, polygonOffsetFactor: 2, polygonOffsetUnits: 2,
    }),
  );
  ground.rotation.x = -Math.PI / 2;
  ground.visible = false;
  scene.add(ground);

  // one material for all buildings: the colour of each vertex is its glTF material's
  // (roofs, walls), orange for planned buildings, blue for the selected one
  const material = new THREE.MeshLambertMaterial({ vertexColors: true, flatShading: true });
  const camera = new THREE.PerspectiveCamera(45, 2, 1, 100000);
  const controls = new OrbitControls(camera, canvas);
  controls.screenSpacePanning = false; // pan parallel to the ground
  controls.minPolarAngle = 0.05;
  controls.maxPolarAngle = Math.PI * 0.47; // stay above the ground plane
  controls.minDistance = 15;

  const frame = new THREE.Matrix4(); // tileset frame (ECEF) -> scene
  const home = { position: new Vector3(), target: new Vector3() };
  let framed = false;
  let span = 1000; // the city's horizontal size (m)
  let tiles = null;
  let selected = null;
  let groundDirty = false;
  let pending = false;

  function requestRender() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(render);
    }
  }

  function resize() {
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const ratio = renderer.getPixelRatio();
    if (canvas.width !== Math.floor(width * ratio) || canvas.height !== Math.floor(height * ratio)) {
      renderer.setSize(width, height, false);
      camera.aspect = width / Math.max(height, 1);
      camera.updateProjectionMatrix();
      if (tiles) tiles.setResolutionFromRenderer(camera, renderer);
    }
  }

  function render() {
    pending = false;
    resize();
    const distance = camera.position.distanceTo(controls.target);
    camera.near = Math.max(0.5, distance / 300);
    camera.far = distance * 8 + span * 3;
    camera.updateProjectionMatrix();
    camera.updateMatrixWorld();
    if (tiles) tiles.update();
    if (groundDirty && state.idle) updateGround();
    renderer.render(scene, camera);
    state.frames += 1;
  }

  function status(text) {
    const el = $('ladestand');
    if (el.textContent !== text) el.textContent = text;
  }

  // scene set-up from the first root tileset: the frame, the camera looking at the whole city
  // from the south-west, 45 degrees down, and the ground plane
  function place(group, tileset) {
    if (!framed) {
      const transform = new THREE.Matrix4();
      if (tileset.root && Array.isArray(tileset.root.transform)) {
        transform.fromArray(tileset.root.transform);
      }
      frame.makeRotationX(-Math.PI / 2).multiply(transform.invert());
    }
    frame.decompose(group.position, group.quaternion, group.scale);
    group.updateMatrixWorld(true);
    if (framed) return;
    resize();
    const box = new THREE.Box3();
    const obb = new THREE.Matrix4();
    if (!tiles.getOrientedBoundingBox(box, obb)) return;
    box.applyMatrix4(new THREE.Matrix4().multiplyMatrices(frame, obb));
    const centre = box.getCenter(new Vector3());
    const size = box.getSize(new Vector3());
    span = Math.max(size.x, size.z, 50);
    const tan = Math.tan(THREE.MathUtils.degToRad(camera.fov / 2));
    // the whole city: its bounding sphere fits the vertical field of view
    const half = Math.min(Math.atan(tan), Math.atan(tan * camera.aspect));
    let distance = (size.length() / 2 / Math.sin(half)) * 1.05;
    // but no farther than where content loads (the first tiles with content: the far view
    // per block, or the leaves): a tile's children load when its geometric error exceeds
    // errorTarget pixels on screen
    const error = contentParentError(tileset.root, Infinity);
    if (Number.isFinite(error)) {
      const resolution = Math.max(canvas.height, 1);
      distance = Math.min(distance, (0.8 * error * resolution) / (tiles.errorTarget * 2 * tan));
    }
    home.target.set(centre.x, box.min.y, centre.z);
    home.position.copy(home.target).addScaledVector(new Vector3(-0.5, Math.SQRT1_2, 0.5), distance);
    controls.maxDistance = distance * 4;
    ground.scale.set(span * 4, span * 4, 1);
    ground.position.set(centre.x, box.min.y, centre.z);
    ground.visible = true;
    state.groundY = box.min.y;
    framed = true;
    reset();
  }

  // the largest geometric error of a tile whose children are the first with content
  // (Infinity when the root has content: it is drawn at any distance)
  function contentParentError(tile, parentError) {
    if (!tile) return -Infinity;
    if (tile.content || tile.contents) return parentError;
    let found = -Infinity;
    for (const child of tile.children || []) {
      found = Math.max(found, contentParentError(child, tile.geometricError));
    }
    return found;
  }

  function reset() {
    camera.position.copy(home.position);
    controls.target.copy(home.target);
    camera.lookAt(home.target);
    controls.update();
    requestRender();
  }

  // per mesh: the feature id attribute and the property table rows of its features
  function prepare(root) {
    root.traverse((mesh) => {
      if (!mesh.isMesh) return;
      const base = mesh.material && mesh.material.color ? mesh.material.color.clone()
        : C.building.clone();
      if (mesh.material && mesh.material !== material) mesh.material.dispose();
      mesh.material = material;
      mesh.userData.base = base;
      const features = mesh.userData.meshFeatures;
      const metadata = mesh.userData.structuralMetadata;
      if (features && metadata) {
        const info = features.getFeatureInfo().find((f) => 'attribute' in f);
        const attr = info && mesh.geometry.getAttribute(`_feature_id_${info.attribute}`);
        if (attr && info.propertyTable !== null && info.propertyTable !== undefined) {
          const v = {
            attr, rows: new Map(), ids: new Set(), lows: null, table: info.propertyTable,
            noData: keepNoData(metadata),
          };
          for (let i = 0; i < attr.count; i += 1) {
            const fid = attr.getX(i);
            if (!v.rows.has(fid)) {
              const row = rowOf(v, metadata, fid);
              v.rows.set(fid, row);
              v.ids.add(idOf(row));
            }
          }
          mesh.userData.viewer = v;
        }
      }
      paint(mesh);
    });
  }

  function paint(mesh) {
    const { geometry } = mesh;
    const count = geometry.attributes.position.count;
    let colour = geometry.getAttribute('color');
    if (!colour || colour.itemSize !== 3) {
      colour = new THREE.BufferAttribute(new Float32Array(count * 3), 3);
      geometry.setAttribute('color', colour);
    }
    const v = mesh.userData.viewer;
    for (let i = 0; i < count; i += 1) {
      let c = mesh.userData.base || C.building;
      const row = v ? v.rows.get(v.attr.getX(i)) : null;
      if (row) {
        if (selected !== null && idOf(row) === selected) c = C.selected;
        else if (String(row.status) === 'planned') c = C.planned;
      }
      colour.setXYZ(i, c.r, c.g, c.b);
    }
    colour.needsUpdate = true;
  }

  // repaint the meshes that hold the previous or the new selection
  function select(id) {
    const before = selected;
    selected = id;
    if (!tiles || before === id) return;
    tiles.group.traverse((o) => {
      const v = o.isMesh && o.userData.viewer;
      if (v && (v.ids.has(before) || v.ids.has(id))) paint(o);
    });
  }

  // the ground plane at the median of the buildings' lowest points (their ground heights)
  function updateGround() {
    groundDirty = false;
    const lows = [];
    const p = new Vector3();
    tiles.group.updateMatrixWorld(true);
    tiles.group.traverse((o) => {
      const v = o.userData.viewer;
      if (!o.isMesh || !v) return;
      if (!v.lows) { // once per mesh: the scene frame does not change
        const pos = o.geometry.attributes.position;
        const low = new Map();
        for (let i = 0; i < pos.count; i += 1) {
          p.fromBufferAttribute(pos, i).applyMatrix4(o.matrixWorld);
          const fid = v.attr.getX(i);
          const y = low.get(fid);
          if (y === undefined || p.y < y) low.set(fid, p.y);
        }
        v.lows = Array.from(low.values());
      }
      for (const y of v.lows) lows.push(y);
    });
    if (!lows.length) return;
    lows.sort((a, b) => a - b);
    const median = lows[Math.floor(lows.length / 2)];
    ground.position.y = median;
    state.groundY = median;
  }

  function load(variant) {
    if (tiles) {
      scene.remove(tiles.group);
      tiles.dispose();
    }
    state.variant = variant;
    state.tilesLoaded = 0;
    state.loaded[variant] = 0;
    state.idle = false;
    status('Die Gebäude werden geladen … (loading)');
    const t = new TilesRenderer(config.tilesets[variant]);
    t.registerPlugin(new GLTFExtensionsPlugin({ metadata: true, rtc: true }));
    t.setCamera(camera);
    t.setResolutionFromRenderer(camera, renderer);
    t.addEventListener('load-root-tileset', (e) => {
      if (t !== tiles) return;
      place(t.group, e.tileset);
      state.ready = true;
      requestRender();
    });
    t.addEventListener('load-model', (e) => {
      if (t !== tiles) return;
      prepare(e.scene);
      state.tilesLoaded += 1;
      state.loaded[variant] += 1;
      groundDirty = true;
      requestRender();
    });
    t.addEventListener('needs-update', requestRender);
    t.addEventListener('tiles-load-end', () => {
      if (t !== tiles) return;
      state.idle = true;
      const name = variant === 'planning' ? 'Planungsvariante' : 'Bestand';
      status(state.loadErrors.length
        ? `${name}: ein Teil der Gebäude konnte nicht geladen werden.`
        : `${name} geladen. (loaded)`);
      requestRender();
    });
    t.addEventListener('load-error', (e) => {
      state.loadErrors.push(String(e.url));
    });
    tiles = t;
    scene.add(t.group);
    if (framed) place(t.group, {});
    requestRender();
  }

  // picking: the feature id of the hit vertex (EXT_mesh_features) -> its property table row
  // (EXT_structural_metadata)
  const raycaster = new THREE.Raycaster();
  function pickAt(clientX, clientY) {
    const rect = canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(
      ((clientX - rect.left) / rect.width) * 2 - 1,
      -((clientY - rect.top) / rect.height) * 2 + 1,
    );
    camera.updateMatrixWorld();
    raycaster.setFromCamera(ndc, camera);
    const hits = tiles ? raycaster.intersectObject(tiles.group, true) : [];
    const hit = hits.find((h) => h.object.userData.viewer && h.face);
    let row = null;
    if (hit) {
      const v = hit.object.userData.viewer;
      const { a, b, c } = hit.face;
      const bc = hit.barycoord || new Vector3(1, 0, 0);
      const vertex = bc.x >= bc.y && bc.x >= bc.z ? a : (bc.y >= bc.z ? b : c);
      const fid = v.attr.getX(vertex);
      row = v.rows.get(fid) || rowOf(v, hit.object.userData.structuralMetadata, fid);
    }
    show(row);
    return state.picked;
  }

  function show(row) {
    const panel = $('auswahl');
    panel.replaceChildren();
    if (!row) {
      const p = document.createElement('p');
      p.textContent = 'An dieser Stelle ist kein Gebäude. (No building here.)';
      panel.append(p);
      state.picked = null;
      select(null);
      requestRender();
      return;
    }
    const id = idOf(row);
    const head = document.createElement('p');
    head.textContent = `Gebäude ${id ?? ''} (building)`;
    const list = document.createElement('dl');
    const picked = {};
    for (const [key, value] of Object.entries(row)) {
      const dt = document.createElement('dt');
      const [de, en] = LABELS[key] || [key, null];
      dt.textContent = de;
      if (en) {
        const span = document.createElement('span');
        span.lang = 'en';
        span.textContent = ` (${en})`;
        dt.append(span);
      }
      const dd = document.createElement('dd');
      dd.textContent = formatValue(key, value);
      list.append(dt, dd);
      picked[key] = typeof value === 'bigint' ? value.toString() : value;
    }
    panel.append(head, list);
    state.picked = picked;
    select(id);
    requestRender();
  }

  // keyboard and buttons: pan parallel to the ground, zoom towards the target, rotate about
  // the vertical through the target
  function pan(dx, dy) {
    const step = camera.position.distanceTo(controls.target) * 0.1;
    const forward = new Vector3().subVectors(controls.target, camera.position);
    forward.y = 0;
    if (forward.lengthSq() < 1e-9) forward.set(0, 0, -1);
    forward.normalize();
    const right = new Vector3().crossVectors(forward, new Vector3(0, 1, 0)).normalize();
    const move = right.multiplyScalar(dx * step).addScaledVector(forward, dy * step);
    camera.position.add(move);
    controls.target.add(move);
    controls.update();
  }

  function zoom(factor) {
    const offset = camera.position.clone().sub(controls.target).multiplyScalar(factor);
    camera.position.copy(controls.target).add(offset);
    controls.update();
  }

  function rotate(angle) {
    const offset = camera.position.clone().sub(controls.target);
    offset.applyAxisAngle(new Vector3(0, 1, 0), angle);
    camera.position.copy(controls.target).add(offset);
    controls.update();
  }

  function pickCentre() {
    const rect = canvas.getBoundingClientRect();
    return pickAt(rect.left + rect.width / 2, rect.top + rect.height / 2);
  }

  canvas.addEventListener('keydown', (e) => {
    const actions = {
      ArrowLeft: () => pan(-1, 0), ArrowRight: () => pan(1, 0),
      ArrowUp: () => pan(0, 1), ArrowDown: () => pan(0, -1),
      '+': () => zoom(0.8), '=': () => zoom(0.8), '-': () => zoom(1.25), _: () => zoom(1.25),
      Enter: pickCentre,
    };
    const action = actions[e.key];
    if (action && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      action();
    }
  });

  const buttons = {
    links: () => rotate(-Math.PI / 12), rechts: () => rotate(Math.PI / 12),
    naeher: () => zoom(0.8), weiter: () => zoom(1.25), mitte: pickCentre, zurueck: reset,
  };
  for (const button of document.querySelectorAll('.steuerung button')) {
    button.addEventListener('click', () => buttons[button.dataset.aktion]());
  }

  // a click (not a drag) picks
  let down = null;
  canvas.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
  canvas.addEventListener('pointerup', (e) => {
    if (down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) < 5 && e.button === 0) {
      pickAt(e.clientX, e.clientY);
    }
    down = null;
  });

  for (const radio of document.querySelectorAll('input[name="variante"]')) {
    radio.addEventListener('change', () => {
      if (radio.checked && config.tilesets[radio.value]) load(radio.value);
    });
  }

  controls.addEventListener('change', requestRender);
  new ResizeObserver(requestRender).observe(canvas);

  // for the tests: a point of the tileset frame (ECEF, m) -> client (page) coordinates
  state.screenOf = (x, y, z) => {
    camera.updateMatrixWorld();
    const q = new Vector3(x, y, z).applyMatrix4(frame).project(camera);
    const rect = canvas.getBoundingClientRect();
    return {
      x: rect.left + ((q.x + 1) / 2) * rect.width,
      y: rect.top + ((1 - q.y) / 2) * rect.height,
      inView: Math.abs(q.x) <= 1 && Math.abs(q.y) <= 1 && q.z < 1,
    };
  };
  state.pickAt = pickAt;
  Object.defineProperty(state, 'camera', {
    enumerable: true,
    get: () => ({ position: camera.position.toArray(), target: controls.target.toArray() }),
  });

  const checked = document.querySelector('input[name="variante"]:checked');
  load(checked && config.tilesets[checked.value] ? checked.value : 'existing');
}

if (!hasWebGL2()) {
  unavailable('webgl');
} else {
  state.webgl = true;
  $('viewer').hidden = false;
  $('auswahl-bereich').hidden = false;
  try {
    await start();
  } catch (err) {
    console.error(err); // eslint-disable-line no-console
    unavailable(String((err && err.message) || err));
  }
}
