// Live status of a generator page: poll the API, redraw the timeline and the buttons.
(function () {
  "use strict";
  function describe(step) {
    var text = step.stage + (step.table ? " " + step.table : "") + ": " + step.status;
    if (step.seconds !== null && step.seconds !== undefined) text += " in " + step.seconds.toFixed(1) + " s";
    if (step.detail) text += " (" + step.detail + ")";
    if (step.epoch) {
      text += " — epoch " + step.epoch.epoch + ", loss " + step.epoch.loss;
      if (step.epoch.epsilon) text += ", ε " + step.epoch.epsilon + ", δ " + step.epoch.delta;
    }
    return text;
  }
  function draw(data) {
    var status = document.getElementById("status");
    status.textContent = data.status;
    status.className = "status-" + data.status;
    var list = document.getElementById("timeline");
    list.textContent = "";
    data.timeline.forEach(function (step) {
      var item = document.createElement("li");
      item.className = "step-" + step.status;
      item.textContent = describe(step);
      list.appendChild(item);
    });
    var job = data.job || {};
    var error = document.getElementById("error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    var shown = {cancel: job.cancellable, restart: job.restartable, rerun: data.status === "done"};
    document.querySelectorAll("form[data-action]").forEach(function (form) {
      form.hidden = !shown[form.dataset.action];
    });
    var outputs = document.getElementById("outputs");
    if (data.status === "done" && outputs.hidden) { window.location.reload(); }
  }
  function poll(id) {
    fetch("/api/generators/" + id + "/status", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        draw(data);
        if (["queued", "running"].indexOf(data.status) >= 0) setTimeout(function () { poll(id); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(id); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var actions = document.getElementById("actions");
    if (actions) poll(actions.dataset.generator);
    var frame = document.getElementById("report");
    var outputs = document.getElementById("outputs");
    if (frame && outputs && !outputs.hidden) frame.src = frame.dataset.src;
  });
})();
