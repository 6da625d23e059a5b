// The sign-in form: say so when the server sent us back after a wrong token.
const params = new URLSearchParams(location.search);
if (params.has('error')) document.getElementById('login-error').hidden = false;
