// 登录: username and password; the token is kept in localStorage.

import { ApiError, api, session } from "../api.js";
import { h, mount, setTitle, showFieldErrors } from "../ui.js";

export function showLogin() {
  setTitle("社工登录");
  const previous = session.user;
  const username = h("input", { type: "text", name: "username", autocomplete: "username", required: true,
    autocapitalize: "off", value: previous ? previous.username : "" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary block" }, "登录");
  const form = h("form", { class: "card", novalidate: true },
    h("div", { class: "error-box form-errors", hidden: true }),
    h("label", { class: "field", for: "login-username" }, "用户名"),
    username,
    h("div", { "data-error-for": "username" }),
    h("label", { class: "field", for: "login-password" }, "密码"),
    password,
    h("div", { "data-error-for": "password" }),
    submit,
  );
  username.id = "login-username";
  password.id = "login-password";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    submit.textContent = "正在登录…";
    try {
      const login = await api("/auth/login", {
        method: "POST", auth: false, body: { username: username.value.trim(), password: password.value },
      });
      if (login.user.role !== "worker") {
        // This page has no use for the token: revoke it rather than leave it valid for 30 days.
        fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + login.token } })
          .catch(() => undefined);
        showFieldErrors(form, { message: "此页面供社工使用；督导员和管理员请使用电脑端管理后台" });
        return;
      }
      session.save(login);
      dispatchEvent(new Event("zoufang:login"));
    } catch (error) {
      showFieldErrors(form, error instanceof ApiError ? error : { message: "网络不可用，联网后才能登录" });
    } finally {
      submit.disabled = false;
      submit.textContent = "登录";
    }
  });
  mount(form, h("p", { class: "muted small center" }, "登录后，走访记录先保存在手机上，有网络时自动上传。"));
  (previous ? password : username).focus();
}
