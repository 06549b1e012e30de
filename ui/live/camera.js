// The Live page's webcam component (Streamlit Components v2): opens the camera, runs the
// pipeline of static/live/fer_live.mjs on every frame it can, and draws the faces, the largest
// face's probabilities, the frame rate and a 60-second timeline. Frames stay in this tab; the
// only thing ever sent to the server is a still, when the user presses Snapshot.

const FALLBACK_COLOUR = "#8aa1b4"; // an expression the server sent no colour for (ui.charts.EXPRESSION_COLOURS)
const TIMELINE_SECONDS = 60;
const instances = new WeakMap();

export default function (component) {
  const { parentElement, data, setTriggerValue } = component;
  let live = instances.get(parentElement);
  if (!live) {
    live = new LiveCamera(parentElement, data || {}, setTriggerValue);
    instances.set(parentElement, live);
    live.start();
  }
  live.setTriggerValue = setTriggerValue;
  return () => {
    live.stop();
    instances.delete(parentElement);
  };
}

class LiveCamera {
  constructor(root, options, setTriggerValue) {
    this.root = root;
    this.options = { detectSide: 320, mirror: true, ...options };
    this.setTriggerValue = setTriggerValue;
    const $ = (selector) => root.querySelector(selector);
    Object.assign(this, {
      video: $(".video"), overlay: $(".overlay"), status: $(".status"), topLabel: $(".top-label"), fps: $(".fps"),
      bars: $(".bars"), pauseButton: $(".pause"), cameraSelect: $(".camera"), snapshotButton: $(".snapshot"),
      timeline: $(".timeline"), legend: $(".legend"),
    });
    this.frame = document.createElement("canvas");
    this.small = document.createElement("canvas");
    this.running = false;
    this.paused = false;
    this.stopped = false;
    this.frameTimes = [];
    this.seconds = new Map(); // whole second -> counts of each expression seen in it
    this.pauseButton.onclick = () => this.togglePause();
    this.snapshotButton.onclick = () => this.snapshot();
    this.cameraSelect.onchange = () => this.openCamera(this.cameraSelect.value);
  }

  async start() {
    try {
      const base = new URL(this.options.base || "app/static/live/", document.baseURI);
      this.fer = await import(new URL("fer_live.mjs", base).href);
      this.pipeline = await this.fer.loadPipeline(base);
    } catch (error) {
      this.say(`The face and expression models could not be loaded (${error.message || error}).`);
      return;
    }
    this.colours = this.pipeline.emotions.map((name) => (this.options.colours || {})[name] || FALLBACK_COLOUR);
    this.buildBars();
    this.buildLegend();
    await this.openCamera();
  }

  async openCamera(deviceId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.say("This browser gives pages the camera only over https or on localhost.");
      return;
    }
    this.say("Waiting for the camera... allow it when the browser asks.");
    this.closeStream();
    try {
      const video = deviceId ? { deviceId: { exact: deviceId } } : { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } };
      this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      const why = {
        NotAllowedError: "Camera access was refused. Allow it for this site (the camera icon in the address bar), then reload the page.",
        NotFoundError: "No camera was found. You can still analyse a video file (Video file, above) or a photo (Predict).",
        NotReadableError: "The camera is in use by another application; close it and reload the page.",
      }[error.name];
      this.say(why || `The camera could not be opened (${error.message || error.name}).`);
      return;
    }
    this.video.srcObject = this.stream;
    this.video.classList.toggle("mirrored", this.options.mirror && !deviceId);
    await this.video.play();
    await this.listCameras();
    this.say("");
    this.pauseButton.disabled = false;
    this.snapshotButton.disabled = false;
    if (!this.running) {
      this.running = true;
      this.schedule();
    }
  }

  async listCameras() {
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const current = this.stream.getVideoTracks()[0]?.getSettings().deviceId;
    this.cameraSelect.replaceChildren(...cameras.map((camera, i) => {
      const option = new Option(camera.label || `Camera ${i + 1}`, camera.deviceId);
      option.selected = camera.deviceId === current;
      return option;
    }));
    this.cameraSelect.hidden = cameras.length < 2;
  }

  /** Analyse frames back to back: as soon as one is done, the newest the camera has shown, if it
   * is new; otherwise wait for the next. (Waiting for a frame after each analysis would leave
   * the processor idle for most of a frame whenever an analysis takes longer than one.) */
  schedule() {
    const shown = (_, metadata) => {
      this.latestFrame = metadata ? metadata.presentedFrames : this.video.currentTime;
      if (!this.stopped) this.watch(shown);
      if (!this.busy) this.step();
    };
    this.watch(shown);
  }

  watch(callback) {
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(callback);
    else requestAnimationFrame(() => callback(null, null));
  }

  async step() {
    this.busy = true;
    while (!this.stopped && !this.paused && this.latestFrame !== this.analysedFrame
           && this.video.readyState >= 2 && this.video.videoWidth) {
      this.analysedFrame = this.latestFrame;
      try {
        await this.analyseFrame();
      } catch (error) {
        this.say(`Analysing the frame failed (${error.message || error}).`);
      }
    }
    this.busy = false;
  }

  async analyseFrame() {
    const started = performance.now();
    const { videoWidth: width, videoHeight: height } = this.video;
    const scale = Math.min(1, this.options.detectSide / Math.max(width, height));
    const smallWidth = Math.round(width * scale), smallHeight = Math.round(height * scale);
    const frame = drawn(this.frame, this.video, width, height);
    const small = drawn(this.small, this.video, smallWidth, smallHeight);
    const faces = await this.pipeline.detectFaces(small, width / smallWidth);
    const gray = this.fer.toGray(frame);
    const rows = await this.classifyAlternating(faces, faces.map((face) => this.pipeline.cropFace(gray, face)));
    const labelled = faces.map((face, i) => this.pipeline.labelled(face, rows[i]));
    this.countFrame();
    this.draw(labelled, width, height);
    this.showLargest(labelled[0]);
    this.remember(labelled);
    this.drawTimeline();
    this.timeWork(performance.now() - started);
  }

  /** The median milliseconds of work per frame, on the component's element (data-frame-ms): the
   * frame rate is capped by the camera, this says how much room is left. */
  timeWork(ms) {
    this.workTimes = [...(this.workTimes || []).slice(-59), ms];
    const sorted = [...this.workTimes].sort((a, b) => a - b);
    this.root.host?.setAttribute?.("data-frame-ms", sorted[Math.floor(sorted.length / 2)].toFixed(1));
  }

  /** The server averages each face with its mirror image. Live, one frame classifies the faces
   * and the next their mirror images, and each face shows the mean of its last two views (the
   * same face found by its box's overlap with the previous frame's): the same average at half the
   * cost, one network call a frame. */
  async classifyAlternating(faces, crops) {
    this.flipped = !this.flipped;
    const rows = await this.pipeline.classify(crops, { mirror: false, flipped: this.flipped });
    const previous = this.previousViews || [];
    const views = faces.map((face, i) => ({ box: face.box, row: rows[i], flipped: this.flipped }));
    const shown = views.map((view) => {
      let best = null, bestOverlap = 0.3;
      for (const old of previous) {
        const overlap = this.fer.boxOverlap(view.box, old.box);
        if (overlap > bestOverlap && old.flipped !== view.flipped) [best, bestOverlap] = [old, overlap];
      }
      return best ? view.row.map((p, j) => (p + best.row[j]) / 2) : view.row;
    });
    this.previousViews = views;
    return shown;
  }

  countFrame() {
    const now = performance.now();
    this.frameTimes.push(now);
    while (this.frameTimes.length && now - this.frameTimes[0] > 2000) this.frameTimes.shift();
    if (this.frameTimes.length > 1) {
      const rate = ((this.frameTimes.length - 1) * 1000) / (now - this.frameTimes[0]);
      this.fps.textContent = `${Math.round(rate)} fps`;
    }
  }

  draw(faces, width, height) {
    const canvas = this.overlay;
    if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const mirrored = this.video.classList.contains("mirrored");
    const line = Math.max(2, Math.round(width / 240));
    context.font = `600 ${Math.max(14, Math.round(width / 32))}px sans-serif`;
    faces.forEach((face, i) => {
      const [x, y, w, h] = face.box;
      const left = mirrored ? width - x - w : x;
      context.lineWidth = line;
      context.strokeStyle = i === 0 ? "#ffb300" : "#ffffff";
      context.strokeRect(left, y, w, h);
      const text = `${face.label} ${Math.round(face.confidence * 100)}%`;
      const textWidth = context.measureText(text).width, textHeight = parseInt(context.font.split(" ")[1], 10);
      const top = y > textHeight + 8 ? y - textHeight - 8 : y + h;
      context.fillStyle = "rgba(0, 0, 0, 0.65)";
      context.fillRect(left, top, textWidth + 12, textHeight + 8);
      context.fillStyle = "#ffffff";
      context.fillText(text, left + 6, top + textHeight + 1);
    });
    if (faces.length) this.drawMiniBars(context, faces[0], width);
  }

  /** The largest face's seven probabilities as a small bar chart in the video's top-left corner. */
  drawMiniBars(context, face, width) {
    const names = this.pipeline.emotions, scale = width / 640;
    const rowHeight = Math.round(14 * scale), barWidth = Math.round(90 * scale), labelWidth = Math.round(58 * scale);
    const pad = Math.round(6 * scale);
    context.fillStyle = "rgba(0, 0, 0, 0.55)";
    context.fillRect(pad, pad, labelWidth + barWidth + 3 * pad, names.length * rowHeight + 2 * pad);
    context.font = `${Math.round(11 * scale)}px sans-serif`;
    names.forEach((name, i) => {
      const y = 2 * pad + i * rowHeight;
      context.fillStyle = "#ffffff";
      context.fillText(name, 2 * pad, y + rowHeight * 0.75);
      context.fillStyle = name === face.label ? "#ffb300" : "#8aa1b4";
      context.fillRect(2 * pad + labelWidth, y + rowHeight * 0.2, Math.max(1, barWidth * face.probabilities[i]),
        rowHeight * 0.6);
    });
  }

  buildBars() {
    this.barRows = this.pipeline.emotions.map((name) => {
      const label = document.createElement("span");
      label.textContent = name;
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("div");
      fill.style.width = "0%";
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = "";
      this.bars.append(label, bar, value);
      return { bar, fill, value };
    });
  }

  showLargest(face) {
    if (!face) {
      this.topLabel.textContent = "no face in view";
      this.barRows.forEach((row) => { row.fill.style.width = "0%"; row.value.textContent = ""; row.bar.classList.remove("top"); });
      return;
    }
    this.topLabel.textContent = `${face.label} ${Math.round(face.confidence * 100)}%`;
    face.probabilities.forEach((p, i) => {
      const row = this.barRows[i];
      row.fill.style.width = `${(100 * p).toFixed(1)}%`;
      row.value.textContent = `${Math.round(100 * p)}%`;
      row.bar.classList.toggle("top", this.pipeline.emotions[i] === face.label);
    });
  }

  remember(faces) {
    const second = Math.floor(performance.now() / 1000);
    if (!this.seconds.has(second)) this.seconds.set(second, new Array(this.pipeline.emotions.length).fill(0));
    const counts = this.seconds.get(second);
    for (const face of faces) counts[this.pipeline.emotions.indexOf(face.label)] += 1;
    for (const old of this.seconds.keys()) if (old <= second - TIMELINE_SECONDS) this.seconds.delete(old);
  }

  drawTimeline() {
    const canvas = this.timeline, context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height, axis = 16;
    context.clearRect(0, 0, width, height);
    const now = Math.floor(performance.now() / 1000), step = width / TIMELINE_SECONDS;
    for (let k = 0; k < TIMELINE_SECONDS; k++) {
      const counts = this.seconds.get(now - TIMELINE_SECONDS + 1 + k);
      const total = counts ? counts.reduce((a, b) => a + b, 0) : 0;
      if (!total) continue;
      let y = height - axis;
      counts.forEach((count, i) => {
        const h = ((height - axis) * count) / total;
        context.fillStyle = this.colours[i];
        context.fillRect(k * step, y - h, Math.ceil(step), h);
        y -= h;
      });
    }
    context.fillStyle = getComputedStyle(this.timeline).color;
    context.font = "11px sans-serif";
    context.fillText(`${TIMELINE_SECONDS} s ago`, 2, height - 3);
    context.fillText("now", width - 24, height - 3);
  }

  buildLegend() {
    this.legend.replaceChildren(...this.pipeline.emotions.map((name, i) => {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = this.colours[i];
      item.append(swatch, name);
      return item;
    }));
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? "Resume" : "Pause";
    if (this.paused) this.video.pause();
    else this.video.play();
  }

  snapshot() {
    if (!this.frame.width) return;
    drawn(this.frame, this.video, this.video.videoWidth, this.video.videoHeight);
    this.setTriggerValue("snapshot", this.frame.toDataURL("image/jpeg", 0.92));
  }

  say(text) {
    this.status.textContent = text;
  }

  closeStream() {
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
  }

  stop() {
    this.stopped = true;
    this.closeStream();
  }
}

/** The video's current frame drawn at width x height, as RGBA ImageData. */
function drawn(canvas, video, width, height) {
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

