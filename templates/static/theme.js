/* Runs before the page paints: apply the theme the reader chose last time. */
(function () {
  try {
    var theme = window.localStorage.getItem("atlas-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (error) {
    /* Storage can be blocked (privacy settings, file://): the system theme applies. */
  }
})();
