// The Live page's pipeline, in the visitor's browser: find every face, crop it as the server
// crops it, and classify its expression. Nothing leaves the machine.
//
// It mirrors fer_core.inference on purpose, step by step, with OpenCV's integer arithmetic where
// OpenCV uses it, so that a photo gets the same crops (and so the same probabilities) here and on
// the server:
//   detector.FaceDetector.find         -> detectFaces   (YuNet, the same weights, decoded as OpenCV does,
//                                                        a second look at the unsure faces)
//   roll.estimate_rolls                -> estimateRolls (the roll network, live.json's looks)
//   crops.to_gray                      -> toGray        (cv2.COLOR_RGB2GRAY's 15-bit coefficients)
//   crops.crop_detection               -> cropFace      (turned upright, FER2013 framing)
//   crops.aligned_square               -> alignedSquare (cv2.warpAffine's fixed-point bilinear)
//   Predictor.classify                 -> classify      (the face and, unless it is sure, its mirror)
// The networks run with onnxruntime-web (vendored in ./ort, one WebAssembly thread).

import * as ort from "./ort/ort.wasm.bundle.min.mjs";

const STRIDES = [8, 16, 32];
const WORK = 96; // aligned_square samples at twice the 48 x 48 input, then averages 2 x 2

const ROLL_DISC = rollDisc(48); // nets.roll_net.ROLL_DISC

/** Load the networks and live.json; `base` is the folder holding ort/ and models/. */
export async function loadPipeline(base = new URL(".", import.meta.url)) {
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which Streamlit does not send
  ort.env.wasm.wasmPaths = new URL("ort/", base).href;
  const models = new URL("models/", base);
  const response = await fetch(new URL("live.json", models));
  if (!response.ok) throw new Error(`live.json: HTTP ${response.status}; run python -m fer_core export-live`);
  const manifest = await response.json();
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const [detector, classifier, roll] = await Promise.all([
    ort.InferenceSession.create(new URL(manifest.detector.file, models).href, options),
    ort.InferenceSession.create(new URL(manifest.expression.file, models).href, options),
    manifest.roll ? ort.InferenceSession.create(new URL(manifest.roll.file, models).href, options) : null,
  ]);
  return new Pipeline(manifest, detector, classifier, roll);
}

export class Pipeline {
  constructor(manifest, detector, classifier, roll) {
    this.manifest = manifest;
    this.emotions = manifest.emotions;
    this.detector = detector;
    this.classifier = classifier;
    this.classifierInput = classifier.inputNames[0];
    this.roll = roll;
  }

  /** Every face of an RGBA image ({data, width, height}), largest first, in `scale`-times
   * larger coordinates (the image given may be a shrunken copy of the frame), with its roll. */
  async detectFaces(image, scale = 1) {
    const { score_threshold: sure, candidate_threshold: candidate, nms_threshold: nms,
      verify_threshold: verified, verify_min_side: minSide = 0 } = this.manifest.detector;
    const { width, height } = image;
    const lowest = Math.min(candidate || sure, sure);
    let faces = [];
    const unsure = [];
    for (const row of await this.yunet(bgrPlanes(image), width, height, lowest)) {
      // the box stays inside the image (a face cut by the edge)
      const left = Math.max(0, row.x), top = Math.max(0, row.y);
      const right = Math.min(width, row.x + row.w), bottom = Math.min(height, row.y + row.h);
      if (right - left < 2 || bottom - top < 2) continue;
      const face = { box: [left, top, right - left, bottom - top], score: row.score, landmarks: row.landmarks };
      if (face.score >= sure) faces.push(face);
      else if (Math.max(face.box[2], face.box[3]) >= minSide) unsure.push(face); // smaller: no second look
    }
    const useRoll = Boolean(this.roll && this.manifest.crop.align); // the server loads it only to align
    const gray = unsure.length || useRoll ? toGray(image) : null;
    if (unsure.length) {
      const rolls = useRoll ? await this.estimateRolls(gray, unsure.map((f) => f.box)) : unsure.map(eyeAngle);
      for (let i = 0; i < unsure.length; i++) {
        const look = await this.secondLook(image, unsure[i], rolls[i]);
        if (look && look.score >= verified) faces.push(look);
      }
      if (faces.length >= 2) faces = suppressOverlaps(faces, nms);
    }
    if (useRoll) {
      const rolls = await this.estimateRolls(gray, faces.map((f) => f.box));
      faces.forEach((face, i) => { face.roll = rolls[i]; });
    }
    return faces.map((face) => ({
      box: face.box.map((v) => roundHalfEven(v * scale)), score: face.score, roll: face.roll,
      landmarks: face.landmarks.map(([x, y]) => [x * scale, y * scale]),
    })).sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  }

  /** YuNet's faces in BGR planes of `width` x `height`: OpenCV's decoding, boxes in float32 (not
   * clipped), whole-pixel NMS, best first. */
  async yunet(planes, width, height, threshold) {
    const { nms_threshold: nmsThreshold } = this.manifest.detector;
    const { input, padW, padH } = planes;
    const out = await this.detector.run({ input: new ort.Tensor("float32", input, [1, 3, padH, padW]) });
    const candidates = [];
    for (const stride of STRIDES) {
      const cols = Math.floor(padW / stride), rows = Math.floor(padH / stride);
      const cls = out[`cls_${stride}`].data, obj = out[`obj_${stride}`].data;
      const bbox = out[`bbox_${stride}`].data, kps = out[`kps_${stride}`].data;
      for (let index = 0; index < rows * cols; index++) {
        const score = f32(Math.sqrt(f32(clamp01(cls[index]) * clamp01(obj[index]))));
        if (!(score > threshold)) continue;
        const r = Math.floor(index / cols), c = index % cols;
        const cx = (c + bbox[4 * index]) * stride, cy = (r + bbox[4 * index + 1]) * stride;
        const w = Math.exp(bbox[4 * index + 2]) * stride, h = Math.exp(bbox[4 * index + 3]) * stride;
        const landmarks = [];
        for (let n = 0; n < 5; n++) {
          landmarks.push([f32((kps[10 * index + 2 * n] + c) * stride), f32((kps[10 * index + 2 * n + 1] + r) * stride)]);
        }
        candidates.push({ x: f32(cx - w / 2), y: f32(cy - h / 2), w: f32(w), h: f32(h), score, landmarks });
      }
    }
    return nonMaximumSuppression(candidates, nmsThreshold);
  }

  /** detector.FaceDetector._second_look: `face` turned upright by `roll` and scaled to the
   * manifest's verify_side (and, when that shrank it and left it unconfirmed, to its
   * large_look_side); YuNet's best-scored face in the middle, mapped back, or null. */
  async secondLook(image, face, roll) {
    const { verify_side: side, large_look_side: largeSide = 0, verify_threshold: verified } = this.manifest.detector;
    const look = await this.look(image, face, roll, side);
    if (largeSide && Math.max(face.box[2], face.box[3]) > side && (!look || look.score < verified)) {
      const larger = await this.look(image, face, roll, largeSide);
      if (larger && (!look || larger.score > look.score)) return larger;
    }
    return look;
  }

  /** detector.FaceDetector._look: `face` turned upright by `roll` and scaled to `side` pixels in a
   * view twice as large (an unsure face's view seen in gray too, when the manifest says
   * gray_look: a face sure there counts); YuNet's best-scored face in the middle, mapped back,
   * or null. */
  async look(image, face, roll, side) {
    const { candidate_threshold: candidate, score_threshold: sure, verify_threshold: verified,
      gray_look: grayLook, gray_look_from: grayFrom } = this.manifest.detector;
    const [x, y, w, h] = face.box;
    const cx = x + w / 2, cy = y + h / 2, view = 2 * side, zoom = side / Math.max(w, h);
    const m = rotationMatrix(cx, cy, roll, zoom);
    m[2] += view / 2 - cx;
    m[5] += view / 2 - cy;
    const planes = warpBGRPlanes(image, invertAffine(m), view), threshold = Math.min(candidate || sure, sure);
    let best = bestInTheMiddle(await this.yunet(planes, view, view, threshold), view, side);
    if (grayLook && best && best.score >= grayFrom && best.score < verified) {
      const gray = grayPlanes(planes); // null when the view is gray already
      const inGray = gray ? bestInTheMiddle(await this.yunet(gray, view, view, threshold), view, side) : null;
      if (inGray && inGray.score >= verified) best = inGray; // only a face the gray view is sure of
    }
    if (!best) return null;
    const back = invertAffine(m), { width, height } = image;
    const map = ([px, py]) => [back[0] * px + back[1] * py + back[2], back[3] * px + back[4] * py + back[5]];
    const [mx, my] = map([best.x + best.w / 2, best.y + best.h / 2]);
    const bw = best.w / zoom, bh = best.h / zoom;
    const left = Math.max(0, mx - bw / 2), top = Math.max(0, my - bh / 2);
    const right = Math.min(width, mx + bw / 2), bottom = Math.min(height, my + bh / 2);
    if (right - left < 2 || bottom - top < 2) return null;
    return { box: [left, top, right - left, bottom - top], score: best.score, landmarks: best.landmarks.map(map) };
  }

  /** roll.estimate_rolls: for each box, the angle that turns its face upright. */
  async estimateRolls(gray, boxes) {
    if (!boxes.length) return [];
    const { looks, unit, max_degrees: most } = this.manifest.roll;
    const angles = boxes.map(() => 0);
    const size = 48 * 48;
    for (let look = 0; look < looks; look++) {
      const input = new Float32Array(boxes.length * size);
      boxes.forEach(([x, y, w, h], i) => {
        const square = alignedSquare(gray, x + w / 2, y + h / 2, Math.max(w, h), angles[i]);
        for (let k = 0; k < size; k++) input[i * size + k] = square[k] * ROLL_DISC[k];
      });
      const tensor = new ort.Tensor("float32", input, [boxes.length, 48, 48, 1]);
      const turns = Object.values(await this.roll.run({ [this.roll.inputNames[0]]: tensor }))[0].data;
      for (let i = 0; i < boxes.length; i++) {
        angles[i] = Math.min(most, Math.max(-most, angles[i] - turns[i] * unit));
      }
    }
    return angles;
  }

  /** The 48 x 48 grayscale face (Uint8Array) the network sees for `face` in `gray`. */
  cropFace(gray, face) {
    const { align, min_turn: minTurn, scale, shift, margin } = this.manifest.crop;
    let angle = align ? (face.roll ?? eyeAngle(face)) : 0;
    if (Math.abs(angle) < minTurn) angle = 0; // crops.crop_detection: the estimate's own error is as large
    const [x, y, w, h] = face.box;
    if (angle === 0 && scale === 1 && shift === 0) return cropBox(gray, face.box, margin);
    const side = Math.max(w, h) * scale * (1 + 2 * margin);
    const radians = angle * (Math.PI / 180);
    const cx = x + w / 2 - Math.sin(radians) * shift * side;
    const cy = y + h / 2 + Math.cos(radians) * shift * side;
    return alignedSquare(gray, cx, cy, side, angle);
  }

  /** Probabilities (one Float32Array of 7 per face) for 48 x 48 faces; `mirror`: average each
   * face with its mirror image, as the server does, unless the face alone gives one expression
   * the manifest's `skip_mirror_from` or more (a second run classifies the unsure faces' mirrors);
   * `flipped` (without `mirror`): classify the mirror images alone. */
  async classify(crops, { mirror = true, flipped = false } = {}) {
    if (!crops.length) return [];
    const rows = await this.runClassifier(crops, flipped && !mirror);
    if (!mirror) return rows;
    const skipFrom = this.manifest.expression.skip_mirror_from ?? 1;
    const unsure = [];
    rows.forEach((row, i) => { if (skipFrom >= 1 || Math.max(...row) < skipFrom) unsure.push(i); });
    if (unsure.length) {
      const mirrors = await this.runClassifier(unsure.map((i) => crops[i]), true);
      unsure.forEach((i, n) => { for (let j = 0; j < rows[i].length; j++) rows[i][j] = (rows[i][j] + mirrors[n][j]) / 2; });
    }
    return rows;
  }

  /** The expression network's rows for 48 x 48 crops (or their mirror images), in one run. */
  async runClassifier(crops, mirrored) {
    const size = 48 * 48;
    const input = new Float32Array(crops.length * size);
    crops.forEach((crop, i) => {
      if (!mirrored) input.set(crop, i * size);
      else for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) input[i * size + y * 48 + x] = crop[y * 48 + 47 - x];
    });
    const tensor = new ort.Tensor("float32", input, [crops.length, 48, 48, 1]);
    const output = Object.values(await this.classifier.run({ [this.classifierInput]: tensor }))[0].data;
    const k = this.emotions.length;
    return crops.map((_, i) => output.slice(i * k, (i + 1) * k));
  }

  /** Every face of an RGBA image with its label and probabilities, as the server's Predict does. */
  async analyse(image, { maxSide = this.manifest.detector.max_side, mirror = true } = {}) {
    const { small, scale } = detectorView(image, maxSide);
    const faces = await this.detectFaces(small, 1 / scale);
    const gray = toGray(image);
    const rows = await this.classify(faces.map((face) => this.cropFace(gray, face)), { mirror });
    return faces.map((face, i) => this.labelled(face, rows[i]));
  }

  labelled(face, probabilities) {
    let best = 0;
    for (let j = 1; j < probabilities.length; j++) if (probabilities[j] > probabilities[best]) best = j;
    return { ...face, label: this.emotions[best], confidence: probabilities[best], probabilities: Array.from(probabilities) };
  }
}

/** RGBA -> grayscale {data, width, height}, with cv2.COLOR_RGB2GRAY's fixed-point coefficients. */
export function toGray(image) {
  const { data, width, height } = image;
  const gray = new Uint8Array(width * height);
  for (let i = 0, s = 0; i < gray.length; i++, s += 4) {
    gray[i] = (data[s] * 9798 + data[s + 1] * 19235 + data[s + 2] * 3735 + 16384) >> 15;
  }
  return { data: gray, width, height };
}

function eyeAngle(face) {
  const [[x1, y1], [x2, y2]] = face.landmarks;
  return Math.atan2(y2 - y1, x2 - x1) * (180 / Math.PI);
}

/** crops.aligned_square: the square of `side` pixels around (cx, cy), turned by `angle` degrees. */
export function alignedSquare(gray, cx, cy, side, angle) {
  const shrink = side / (2 * WORK);
  if (shrink > 1) { // a large face: average the photo down first, as the server does
    gray = areaResizeGray(gray, Math.max(1, roundHalfEven(gray.width / shrink)),
      Math.max(1, roundHalfEven(gray.height / shrink)));
    cx /= shrink; cy /= shrink; side /= shrink;
  }
  const m = rotationMatrix(cx, cy, angle, WORK / side); // moved so the centre lands mid-patch
  m[2] += WORK / 2 - cx;
  m[5] += WORK / 2 - cy;
  return areaHalve(warpAffineLinear(gray, invertAffine(m), WORK));
}

/** cv2.getRotationMatrix2D((cx, cy), angle, scale) as a flat [a, b, c, d, e, f]. */
export function rotationMatrix(cx, cy, angle, scale) {
  const radians = angle * (Math.PI / 180);
  const a = Math.cos(radians) * scale, b = Math.sin(radians) * scale;
  return [a, b, (1 - a) * cx - b * cy, -b, a, b * cx + (1 - a) * cy];
}

/** An RGBA image as YuNet's input: B, G and R planes, zero-padded right and bottom to multiples of 32. */
function bgrPlanes(image) {
  const { width, height, data: rgba } = image;
  const padW = Math.floor((width - 1) / 32 + 1) * 32, padH = Math.floor((height - 1) / 32 + 1) * 32;
  const plane = padW * padH, input = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = 4 * (y * width + x), d = y * padW + x;
      input[d] = rgba[s + 2];
      input[plane + d] = rgba[s + 1];
      input[2 * plane + d] = rgba[s];
    }
  }
  return { input, padW, padH };
}

/** cv2.warpAffine(bgr, m, (size, size), INTER_LINEAR, BORDER_CONSTANT) of an RGBA image, as
 * YuNet's B, G, R planes (size is a multiple of 32); `inv` maps the view's pixels into the image.
 * OpenCV's fixed point, and its constant border: a neighbour outside the image counts as 0. */
export function warpBGRPlanes(image, inv, size) {
  const { data, width, height } = image;
  const plane = size * size, input = new Float32Array(3 * plane);
  const inside = (yy, xx) => (xx >= 0 && xx < width && yy >= 0 && yy < height ? 4 * (yy * width + xx) : -1);
  warpSources(inv, size, (x, y, ix, iy, fx, fy) => {
    if (ix >= width || ix + 1 < 0 || iy >= height || iy + 1 < 0) return; // all four outside: 0
    const weights = [(32 - fx) * (32 - fy), fx * (32 - fy), (32 - fx) * fy, fx * fy];
    const at = [inside(iy, ix), inside(iy, ix + 1), inside(iy + 1, ix), inside(iy + 1, ix + 1)];
    for (let c = 0; c < 3; c++) { // RGBA channel c goes to BGR plane 2 - c
      let v = 0;
      for (let k = 0; k < 4; k++) if (at[k] >= 0) v += data[at[k] + c] * weights[k];
      input[(2 - c) * plane + y * size + x] = (v * 32 + 16384) >> 15;
    }
  });
  return { input, padW: size, padH: size };
}

/** detector._best_in_the_middle: the best-scored row whose centre is within half of `side` of the
 * `view`'s middle and whose side is 0.5-2 times `side`, or null. */
function bestInTheMiddle(rows, view, side) {
  let best = null;
  for (const row of rows) {
    const offset = Math.max(Math.abs(row.x + row.w / 2 - view / 2), Math.abs(row.y + row.h / 2 - view / 2));
    const ratio = Math.max(row.w, row.h) / side;
    if (offset < side / 2 && ratio >= 0.5 && ratio <= 2 && (!best || row.score > best.score)) best = row;
  }
  return best;
}

/** cv2.cvtColor(BGR2GRAY) then (GRAY2BGR) on warpBGRPlanes' output: the weights of toGray, the
 * same gray in all three planes; null when the view is gray already (every plane that gray). */
export function grayPlanes({ input, padW, padH }) {
  const plane = padW * padH, gray = new Float32Array(3 * plane);
  let coloured = false;
  for (let i = 0; i < plane; i++) {
    const value = (input[2 * plane + i] * 9798 + input[plane + i] * 19235 + input[i] * 3735 + 16384) >> 15;
    coloured ||= input[i] !== value || input[plane + i] !== value || input[2 * plane + i] !== value;
    gray[i] = gray[plane + i] = gray[2 * plane + i] = value;
  }
  return coloured ? { input: gray, padW, padH } : null;
}

/** cv2.dnn.NMSBoxes on the boxes as they are (not whole pixels), as the server suppresses the
 * faces a second look added: best score first. */
function suppressOverlaps(faces, threshold) {
  const order = faces.map((_, i) => i).sort((a, b) => faces[b].score - faces[a].score);
  const kept = [];
  for (const i of order) {
    if (kept.every((j) => boxOverlap(faces[i].box, faces[j].box) <= threshold)) kept.push(i);
  }
  return kept.map((i) => faces[i]);
}

/** nets.roll_net.disc_mask: 1 inside the inscribed circle, 0 outside, a 2-pixel ramp between. */
function rollDisc(size) {
  const mask = new Float32Array(size * size), middle = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const radius = Math.hypot(x - middle, y - middle);
      mask[y * size + x] = Math.min(1, Math.max(0, (size / 2 - radius) / 2));
    }
  }
  return mask;
}

/** crops.crop_face: the box squared around its centre, clipped to the photo, resized to 48 x 48. */
function cropBox(gray, [x, y, w, h], margin) {
  const side = roundHalfEven(Math.max(w, h) * (1 + 2 * margin));
  let left = roundHalfEven(x + w / 2 - side / 2), top = roundHalfEven(y + h / 2 - side / 2);
  left = Math.max(0, left); top = Math.max(0, top);
  const right = Math.min(gray.width, left + side), bottom = Math.min(gray.height, top + side);
  if (right <= left || bottom <= top) return areaResizeGray(gray, 48, 48).data;
  const patch = { data: new Uint8Array((right - left) * (bottom - top)), width: right - left, height: bottom - top };
  for (let r = top; r < bottom; r++) patch.data.set(gray.data.subarray(r * gray.width + left, r * gray.width + right), (r - top) * patch.width);
  return (Math.min(patch.width, patch.height) >= 48 ? areaResizeGray(patch, 48, 48) : bilinearResize(patch, 48, 48)).data;
}

/** cv2.warpAffine(..., INTER_LINEAR, BORDER_REPLICATE) to a size x size patch; `inv` maps the
 * patch's pixels into the photo. OpenCV's fixed point: coordinates in 1/32 pixel, weights in 1/2^15. */
function warpAffineLinear(gray, inv, size) {
  const { data, width, height } = gray;
  const out = new Uint8Array(size * size);
  const at = (yy, xx) => data[Math.min(height - 1, Math.max(0, yy)) * width + Math.min(width - 1, Math.max(0, xx))];
  warpSources(inv, size, (x, y, ix, iy, fx, fy) => {
    const v = at(iy, ix) * (32 - fx) * (32 - fy) + at(iy, ix + 1) * fx * (32 - fy)
      + at(iy + 1, ix) * (32 - fx) * fy + at(iy + 1, ix + 1) * fx * fy;
    out[y * size + x] = (v * 32 + 16384) >> 15;
  });
  return { data: out, width: size, height: size };
}

/** Where cv2.warpAffine samples each pixel of a size x size view, in its fixed point (coordinates
 * in 1/32 pixel): visit(x, y, ix, iy, fx, fy) gets the source pixel and the fractions (0-31);
 * `inv` maps the view's pixels into the image. The bilinear weights are then 1/2^15. */
function warpSources(inv, size, visit) {
  const AB = 1024, ROUND = 16;
  for (let y = 0; y < size; y++) {
    const x0 = roundHalfEven((inv[1] * y + inv[2]) * AB), y0 = roundHalfEven((inv[4] * y + inv[5]) * AB);
    for (let x = 0; x < size; x++) {
      const X = (x0 + roundHalfEven(inv[0] * x * AB) + ROUND) >> 5;
      const Y = (y0 + roundHalfEven(inv[3] * x * AB) + ROUND) >> 5;
      visit(x, y, X >> 5, Y >> 5, X & 31, Y & 31);
    }
  }
}

/** 96 x 96 -> 48 x 48 by 2 x 2 means (cv2.INTER_AREA's integer path: (a + b + c + d + 2) >> 2). */
function areaHalve(patch) {
  const n = patch.width / 2, out = new Uint8Array(n * n), d = patch.data, w = patch.width;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = 2 * y * w + 2 * x;
      out[y * n + x] = (d[i] + d[i + 1] + d[i + w] + d[i + w + 1] + 2) >> 2;
    }
  }
  return out;
}

/** cv2.resize(..., INTER_AREA) of a grayscale image when shrinking. */
export function areaResizeGray(gray, dstW, dstH) {
  return { data: areaResize(gray.data, gray.width, gray.height, 1, dstW, dstH), width: dstW, height: dstH };
}

const BILINEAR_DOWN_TO = 0.5; // detector.BILINEAR_DOWN_TO

/** detector.detector_view: the copy of an RGBA image the detector looks at (at most `maxSide`
 * pixels; bilinear, cv2.INTER_LINEAR_EXACT, down to BILINEAR_DOWN_TO, area-averaged beyond) and
 * its scale against the image. */
function detectorView(image, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  if (scale === 1) return { small: image, scale };
  const dstW = Math.max(1, roundHalfEven(image.width * scale)), dstH = Math.max(1, roundHalfEven(image.height * scale));
  const resize = scale >= BILINEAR_DOWN_TO ? linearExactResize : areaResize;
  return { small: { data: resize(image.data, image.width, image.height, 4, dstW, dstH), width: dstW, height: dstH }, scale };
}

/** cv2.resize(..., INTER_LINEAR_EXACT) of 8-bit pixels, bit for bit: weights of 8 fractional bits,
 * each row interpolated across, then the two rows down, rounded from 16 fractional bits. */
export function linearExactResize(src, srcW, srcH, channels, dstW, dstH) {
  const xs = linearExactTable(srcW, dstW), ys = linearExactTable(srcH, dstH);
  const rowLength = dstW * channels;
  const across = (r) => { // one source row interpolated to dstW pixels, 8 fractional bits
    const line = new Int32Array(rowLength), base = r * srcW * channels;
    for (let x = 0; x < dstW; x++) {
      const [offset, weight] = xs[x];
      for (let c = 0; c < channels; c++) {
        const left = src[base + offset * channels + c];
        line[x * channels + c] = weight < 0 ? left << 8
          : (256 - weight) * left + weight * src[base + (offset + 1) * channels + c];
      }
    }
    return line;
  };
  const out = new Uint8ClampedArray(dstH * rowLength);
  let cached = -2, upper = null, lower = null; // the rows interpolated across: `cached` and the one below
  for (let y = 0; y < dstH; y++) {
    const [offset, weight] = ys[y], target = y * rowLength;
    if (weight < 0) { // above the first or below the last row: that row alone
      const line = across(offset);
      for (let k = 0; k < rowLength; k++) out[target + k] = (line[k] + 128) >> 8;
      continue;
    }
    if (cached !== offset) {
      upper = cached === offset - 1 ? lower : across(offset);
      lower = across(offset + 1);
      cached = offset;
    }
    for (let k = 0; k < rowLength; k++) out[target + k] = ((256 - weight) * upper[k] + weight * lower[k] + 32768) >> 16;
  }
  return out;
}

/** For each output position, the source position left of it and the right neighbour's weight in
 * 256ths (cv2's interpolationLinear); weight -1: the edge pixel alone. */
function linearExactTable(src, dst) {
  const scale = 1 / (dst / src), table = []; // as OpenCV computes it (1 / its inv_scale), to the last bit
  for (let d = 0; d < dst; d++) {
    const f = scale * (d + 0.5) - 0.5, i = Math.floor(f);
    if (i >= 0 && src > 1 && i < src - 1) table.push([i, roundHalfEven((f - i) * 256)]);
    else table.push([i < 0 || src <= 1 ? 0 : src - 1, -1]);
  }
  return table;
}

function areaResize(src, srcW, srcH, channels, dstW, dstH) {
  const out = new Uint8ClampedArray(dstW * dstH * channels);
  const sx = srcW / dstW, sy = srcH / dstH;
  if (Number.isInteger(sx) && Number.isInteger(sy)) { // OpenCV's integer path: rounded box means
    const n = sx * sy, half = Math.floor(n / 2);
    for (let y = 0; y < dstH; y++) for (let x = 0; x < dstW; x++) for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let j = 0; j < sy; j++) for (let i = 0; i < sx; i++) sum += src[((y * sy + j) * srcW + x * sx + i) * channels + c];
      out[(y * dstW + x) * channels + c] = Math.floor((sum + half) / n);
    }
    return out;
  }
  const xs = areaTable(srcW, dstW), ys = areaTable(srcH, dstH);
  const rows = new Float64Array(srcH * dstW * channels); // horizontal pass
  for (let r = 0; r < srcH; r++) {
    for (let x = 0; x < dstW; x++) {
      for (const [i, weight] of xs[x]) {
        for (let c = 0; c < channels; c++) rows[(r * dstW + x) * channels + c] += src[(r * srcW + i) * channels + c] * weight;
      }
    }
  }
  const acc = new Float64Array(dstW * dstH * channels);
  for (let y = 0; y < dstH; y++) {
    for (const [j, weight] of ys[y]) {
      const base = j * dstW * channels, target = y * dstW * channels;
      for (let k = 0; k < dstW * channels; k++) acc[target + k] += rows[base + k] * weight;
    }
  }
  for (let k = 0; k < acc.length; k++) out[k] = roundHalfEven(acc[k]);
  return out;
}

/** For each output pixel, the input pixels it covers and their share (cv2's area table). */
function areaTable(src, dst) {
  const scale = src / dst, table = [];
  for (let d = 0; d < dst; d++) {
    const f1 = d * scale, f2 = f1 + scale;
    let s2 = Math.min(Math.floor(f2), src - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    const cell = Math.min(scale, src - f1), entries = [];
    if (s1 - f1 > 1e-3) entries.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) entries.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3) entries.push([s2, Math.min(Math.min(f2 - s2, 1), cell) / cell]);
    table.push(entries);
  }
  return table;
}

/** Bilinear upscaling with pixel-centre alignment (cv2.INTER_LINEAR, in floating point). */
function bilinearResize(gray, dstW, dstH) {
  const out = new Uint8Array(dstW * dstH), { data, width, height } = gray;
  for (let y = 0; y < dstH; y++) {
    const fy = Math.max(0, (y + 0.5) * (height / dstH) - 0.5), y0 = Math.min(height - 1, Math.floor(fy));
    const y1 = Math.min(height - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < dstW; x++) {
      const fx = Math.max(0, (x + 0.5) * (width / dstW) - 0.5), x0 = Math.min(width - 1, Math.floor(fx));
      const x1 = Math.min(width - 1, x0 + 1), wx = fx - x0;
      const top = data[y0 * width + x0] * (1 - wx) + data[y0 * width + x1] * wx;
      const bottom = data[y1 * width + x0] * (1 - wx) + data[y1 * width + x1] * wx;
      out[y * dstW + x] = Math.round(top * (1 - wy) + bottom * wy);
    }
  }
  return { data: out, width: dstW, height: dstH };
}

/** cv2.dnn.NMSBoxes on whole-pixel boxes, as cv2.FaceDetectorYN calls it: best score first. */
function nonMaximumSuppression(faces, threshold) {
  if (faces.length < 2) return faces;
  const order = faces.map((_, i) => i).sort((a, b) => faces[b].score - faces[a].score);
  const boxes = faces.map((f) => [Math.trunc(f.x), Math.trunc(f.y), Math.trunc(f.w), Math.trunc(f.h)]);
  const kept = [];
  for (const i of order) {
    if (kept.every((j) => boxOverlap(boxes[i], boxes[j]) <= threshold)) kept.push(i);
  }
  return kept.map((i) => faces[i]);
}

/** Overlap (intersection over union) of two [x, y, w, h] boxes. */
export function boxOverlap([ax, ay, aw, ah], [bx, by, bw, bh]) {
  const w = Math.min(ax + aw, bx + bw) - Math.max(ax, bx), h = Math.min(ay + ah, by + bh) - Math.max(ay, by);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (aw * ah + bw * bh - inter);
}

/** The inverse of a 2 x 3 affine matrix, computed as cv2.warpAffine computes it. */
export function invertAffine([a, b, c, d, e, f]) {
  let det = a * e - b * d;
  det = det !== 0 ? 1 / det : 0;
  const ia = e * det, ib = b * -det, id = d * -det, ie = a * det;
  return [ia, ib, -ia * c - ib * f, id, ie, -id * c - ie * f];
}

function clamp01(v) { return Math.min(1, Math.max(0, v)); }

const F32 = new Float32Array(1);
function f32(v) { F32[0] = v; return F32[0]; } // OpenCV keeps the decoded boxes as float32

/** Python's round() and OpenCV's cvRound: halves go to the even neighbour. */
export function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
